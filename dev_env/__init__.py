"""Everything a developer or CI needs to run secretbridge's stores on one machine."""
