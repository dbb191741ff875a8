"""System tasks the server runs itself, outside the engine, because they do I/O."""
