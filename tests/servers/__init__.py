"""Session fixtures that run each store's server on 127.0.0.1 for the tests: the same
dev_env classes that ``python -m dev_env up`` runs. Each module starts its server on
first use and stops it at the end of the session."""
