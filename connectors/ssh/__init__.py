"""SSH connectors: pre-authentication wire probe and authenticated collection."""
