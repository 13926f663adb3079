"""Session fixtures for the vault test server (filled in with its store)."""
