"""``secretbridge.dagster``: the Dagster resources and log redaction (a coming release).

Imports only secretbridge's public API; ``secretbridge`` itself never imports Dagster.
"""
