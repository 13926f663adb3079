"""Session fixtures for the gcp test server (filled in with its store)."""
