"""`podium secrets`: manage the secrets that `${workflow.secrets.NAME}` refers to, against the database
directly (no server needed). The use cases are `podium.service.secrets`; this package is the command."""
