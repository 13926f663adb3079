"""``secretbridge.airflow``: the Airflow 3 secrets backend and UI plugin (a coming release).

Imports only secretbridge's public API; ``secretbridge`` itself never imports Airflow.
"""
