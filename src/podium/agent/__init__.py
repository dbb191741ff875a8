"""`podium agent`: runs commands for the server on this host (a BBS cell; Conductor COMMAND tasks later)."""
