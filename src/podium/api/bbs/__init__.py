"""The Diego BBS Tasks API (`/v1/tasks/...`, `/v1/cells/...`, `/v1/events/tasks.r1`)."""
