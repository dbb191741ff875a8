"""`podium agent`: runs commands for the server on this host (a BBS cell, or Conductor COMMAND tasks)."""
