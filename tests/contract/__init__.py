"""Our stores under ``secretbridge.testing``'s contract suite (test_stores.py), one module
of harness factories per family of stores, and the suite run against the README's
example plugin store (test_plugin_example.py)."""
