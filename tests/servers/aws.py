"""Session fixtures for the aws test server (filled in with its store)."""
