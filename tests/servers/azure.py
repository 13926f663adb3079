"""Session fixtures for the azure test server (filled in with its store)."""
