"""SIGMA process manager endpoints (`/processes`)."""
