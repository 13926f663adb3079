"""Session fixtures for the k8s test server (filled in with its store)."""
