"""``secretbridge_leak``: a scheduler-run task that writes its resolved password, logins
that came from references (in a stored connection and in one of Airflow's database) and
a variable through every channel a task log takes
(``print``, stderr, stdlib logging, the task logger). Its log must show none of them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from datetime import datetime

from airflow.sdk import Connection, Variable, dag, task


@dag(dag_id="secretbridge_leak", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def secretbridge_leak() -> None:
    @task(retries=0)
    def write_everything() -> None:
        conn = Connection.get("sb_json")
        kept = Connection.get("sb_db")  # in Airflow's database, its login a reference
        values = {
            "password": conn.password,
            "login": conn.login,
            "variable": Variable.get("sb_var"),
            "db_login": kept.login,
        }
        expected = json.loads(os.environ["SB_EXPECT"])
        for label, value in values.items():
            assert hashlib.sha256(value.encode()).hexdigest() == expected[label], label
            print(f"SB-PRINT {label}={value}")
            print(f"SB-STDERR {label}={value}", file=sys.stderr)
            logging.getLogger("user.code").warning("SB-LOGGING %s=%s", label, value)
            logging.getLogger("airflow.task").info("SB-TASKLOG %s=%s", label, value)

    write_everything()


secretbridge_leak()
