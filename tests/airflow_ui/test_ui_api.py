"""The Secrets page's JSON API, served by a real ``airflow api-server`` through the
``airflow.plugins`` entry point: who may read it, what it shows, and that no value
leaves the server."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from leaks import holders
from secrets_page_kit import CANARIES, DB_LITERAL, MALFORMED, Airflow

pytestmark = pytest.mark.slow

ENDPOINTS = ["/api/names", "/api/db-connections", "/api/stores", "/api/audit"]
PAGE = "/secretbridge"


def test_loading_airflows_plugins_imports_no_fastapi(
    airflow_home: tuple[Path, dict[str, str]],
) -> None:
    """Every Airflow process loads the plugins (a task process, the scheduler): ours is
    imported from its entry point, and neither FastAPI nor the app comes with it."""
    code = (
        "import sys\n"
        "from airflow import plugins_manager as m\n"
        "m.ensure_plugins_loaded(); m.integrate_macros_plugins()\n"
        "m.get_timetables_plugins(); m.get_operator_extra_links()\n"
        "loaded = 'secretbridge.airflow.plugin' in sys.modules\n"
        "web = sorted(m for m in sys.modules if m.split('.')[0] in {'fastapi', 'starlette'})\n"
        "from secretbridge.airflow.plugin import SecretbridgePlugin as P\n"
        "print(loaded, web, repr(P.fastapi_apps))\n"
    )
    _, env = airflow_home
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True [] <secretbridge fastapi_apps (lazy)>"


def test_the_api_server_mounts_the_app_and_lists_the_nav_entry(airflow: Airflow) -> None:
    plugins = airflow.get_json("/api/v2/plugins")["plugins"]
    ours = next(p for p in plugins if p["name"] == "secretbridge")
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == [PAGE]
    [view] = ours["external_views"]
    assert (view["name"], view["destination"], view["href"]) == ("Secrets", "nav", f"{PAGE}/")
    status, text = airflow.request("GET", f"{PAGE}/", user="viewer")
    assert status == 200 and "<h1>Secrets</h1>" in text


def test_plugin_is_loaded_from_its_entry_point(airflow: Airflow) -> None:
    source = next(
        p["source"]
        for p in airflow.get_json("/api/v2/plugins")["plugins"]
        if p["name"] == "secretbridge"
    )
    assert "secretbridge.airflow.plugin:SecretbridgePlugin" in json.dumps(source)


@pytest.mark.parametrize("path", [f"{PAGE}/", *(PAGE + e for e in ENDPOINTS)])
def test_anonymous_gets_401(airflow: Airflow, path: str) -> None:
    status, _ = airflow.request("GET", path)
    assert status == 401


def test_a_forged_token_gets_403(airflow: Airflow) -> None:
    forged = airflow.token("admin")[:-4] + "AAAA"  # the signature no longer matches
    for path in [f"{PAGE}/", f"{PAGE}/api/names"]:
        assert airflow.request("GET", path, token=forged)[0] == 403


@pytest.mark.parametrize("path", [PAGE + e for e in [*ENDPOINTS, "/api/lookup?q=warehouse"]])
def test_a_user_without_connection_read_gets_403(airflow: Airflow, path: str) -> None:
    """SimpleAuthManager gives connection and variable reads to the op role and up; a
    viewer is refused here exactly as by Airflow's own connections endpoint."""
    assert airflow.request("GET", "/api/v2/connections", user="viewer")[0] == 403
    status, _ = airflow.request("GET", path, user="viewer")
    assert status == 403


def test_names_in_the_stores(airflow: Airflow) -> None:
    names = airflow.get_json(f"{PAGE}/api/names")
    conns = {r["name"]: r for r in names["connections"]["items"]}
    assert set(conns) == {"warehouse", "api_http"}
    assert conns["api_http"] == {
        "name": "api_http",
        "store": "local",
        "physical": "connections/api_http",
        "version": "2",
        "shadowed": False,
    }
    variables = {r["name"]: (r["store"], r["version"]) for r in names["variables"]["items"]}
    assert variables == {"batch_size": ("local", "1"), "wh_login": ("local", "1")}
    assert names["connections"]["errors"] == names["variables"]["errors"] == []


def test_db_connections_whose_fields_are_references(airflow: Airflow) -> None:
    items = {c["conn_id"]: c for c in airflow.get_json(f"{PAGE}/api/db-connections")["items"]}
    assert set(items) == {"pg_ref", "bad_ref"}, "plain_db holds no reference"
    assert items["pg_ref"]["fields"] == [
        {
            "field": "password",
            "reference": "secret:connections/warehouse#password",
            "malformed": False,
        },
        {"field": "extra.token", "reference": "vault://secret/etl#token", "malformed": False},
    ]
    assert items["bad_ref"]["fields"] == [
        {"field": "password", "reference": None, "malformed": True}
    ]


def test_stores_and_their_health(airflow: Airflow) -> None:
    stores = airflow.get_json(f"{PAGE}/api/stores")
    assert stores["config"] == str(airflow.config) and stores["chain"] == ["local"]
    health = {s["store"]: s for s in stores["items"]}
    assert health["local"]["healthy"] is True and health["local"]["error"] is None
    down = health["vault-down"]
    assert (down["kind"], down["healthy"]) == ("vault", False)
    assert down["error"].startswith("StoreUnavailable"), down["error"]


def test_lookup_says_where_a_connection_resolves_and_whether_it_was_cached(
    airflow: Airflow,
) -> None:
    first = airflow.get_json(f"{PAGE}/api/lookup?kind=connection&q=warehouse")
    again = airflow.get_json(f"{PAGE}/api/lookup?kind=connection&q=warehouse")
    where = {k: first[k] for k in ("ref", "found", "store", "physical", "version", "error")}
    assert where == {
        "ref": "secret:connections/warehouse",
        "found": True,
        "store": "local",
        "physical": "connections/warehouse",
        "version": "1",
        "error": None,
    }
    assert again["cached"] is True, "the second lookup is served from this server's cache"
    [login] = first["fields"]
    assert (login["field"], login["reference"], login["found"]) == (
        "login",
        "secret:variables/wh_login",
        True,
    )
    assert (login["store"], login["physical"], login["version"]) == (
        "local",
        "variables/wh_login",
        "1",
    )


def test_lookup_of_variables_references_and_misses(airflow: Airflow) -> None:
    var = airflow.get_json(f"{PAGE}/api/lookup?kind=variable&q=batch_size")
    assert (var["ref"], var["found"], var["store"]) == (
        "secret:variables/batch_size",
        True,
        "local",
    )
    missing = airflow.get_json(f"{PAGE}/api/lookup?kind=variable&q=nope")
    assert (missing["found"], missing["error"]) == (False, None)
    field = airflow.get_json(
        f"{PAGE}/api/lookup?kind=reference&q=secret:connections/warehouse%23password"
    )
    assert (field["found"], field["store"], field["version"]) == (True, "local", "1")
    down = airflow.get_json(f"{PAGE}/api/lookup?kind=reference&q=vault://secret/etl%23token")
    assert down["found"] is False and down["store"] == "vault-down"
    assert down["error"].startswith("StoreUnavailable"), down["error"]


def test_lookup_of_a_connection_kept_in_airflows_db(airflow: Airflow) -> None:
    """Not in the stores: Airflow's chain reaches its database, where pg_ref's reference
    fields resolve through secretbridge; the page says where each goes."""
    found = airflow.get_json(f"{PAGE}/api/lookup?kind=connection&q=pg_ref")
    assert (found["found"], found["airflow_db"], found["error"]) == (False, True, None)
    fields = {f["field"]: f for f in found["fields"]}
    assert set(fields) == {"password", "extra.token"}
    password = fields["password"]
    assert (password["found"], password["store"], password["physical"]) == (
        True,
        "local",
        "connections/warehouse",
    )
    assert fields["extra.token"]["error"].startswith("StoreUnavailable")
    plain = airflow.get_json(f"{PAGE}/api/lookup?kind=connection&q=plain_db")
    assert (plain["found"], plain["airflow_db"], plain["fields"]) == (False, True, [])
    nowhere = airflow.get_json(f"{PAGE}/api/lookup?kind=connection&q=nowhere")
    assert (nowhere["found"], nowhere["airflow_db"]) == (False, False)
    assert "fields" not in nowhere


def test_lookup_refuses_a_literal_or_a_malformed_reference_without_echoing_it(
    airflow: Airflow,
) -> None:
    status, text = airflow.request(
        "GET", f"{PAGE}/api/lookup?kind=reference&q=hunter2-typed-by-hand", user="admin"
    )
    assert status == 400 and "not a reference" in text
    assert "hunter2" not in text
    query = urllib.parse.urlencode({"kind": "reference", "q": MALFORMED})
    status, text = airflow.request("GET", f"{PAGE}/api/lookup?{query}", user="admin")
    assert status == 400 and "does not parse" in text
    assert "cnry" not in text
    # The same for a connection id or a variable key that cannot be part of a name.
    for kind, what in (("connection", "connection id"), ("variable", "variable key")):
        query = urllib.parse.urlencode({"kind": kind, "q": "pa ss//word-cnry-typed"})
        status, text = airflow.request("GET", f"{PAGE}/api/lookup?{query}", user="admin")
        assert status == 400 and f"not a valid {what}" in text, text
        assert "empty name segment" in text and "cnry" not in text, text


def test_recent_resolutions_from_the_audit_log(airflow: Airflow) -> None:
    airflow.get_json(f"{PAGE}/api/lookup?kind=variable&q=wh_login")
    audit = airflow.get_json(f"{PAGE}/api/audit?limit=5")
    assert audit["configured"] is True
    newest = audit["items"][0]
    assert (newest["principal"], newest["ref"], newest["store"]) == (
        "airflow-ui:admin",
        "secret:variables/wh_login",
        "local",
    )
    assert newest["outcome"] in {"ok", "cached"}


def test_no_value_in_any_response_or_file(airflow: Airflow) -> None:
    """Runs last in this module: every response the tests above received, the server's
    log and every file under AIRFLOW_HOME (the SQLite DB too) hold no store value."""
    for path in [*ENDPOINTS, "/api/lookup?kind=connection&q=api_http"]:
        airflow.get_json(PAGE + path)
    assert len(airflow.bodies) > 20
    for body in airflow.bodies:
        for name, canary in CANARIES.items():
            assert canary not in body, f"the {name} canary is in a response"
        assert DB_LITERAL not in body and MALFORMED not in body
    assert any(p.suffix == ".db" for p in airflow.home.rglob("*")), "the metadata DB is searched"
    # Raw bytes, and every cell of the SQLite DB (its WAL too), zlib and base64 unwrapped.
    assert holders(airflow.home, *CANARIES.values()) == []
    log = airflow.log.read_text(errors="replace")
    assert DB_LITERAL not in log and MALFORMED not in log
