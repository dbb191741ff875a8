"""TNC-O lifecycle endpoints: intents that start processes, and the process search."""
