"""Background loops, each small and single-purpose, supervised by the server's lifespan."""
