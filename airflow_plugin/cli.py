"""``secretbridge airflow ...``: registered under the ``secretbridge.commands`` entry points,
so the core CLI imports this module (and Airflow) only when ``airflow`` is invoked.

The metastore is the one Airflow itself uses (``AIRFLOW_HOME``,
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``), read and written through Airflow's ORM in this
process; Airflow's secrets backends are not consulted.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from secretbridge import Connection, MissingDependency, shared_resolver
from secretbridge.cli import exit_on_error

from .migrate import Migration, Options, Outcome, summary


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def airflow() -> None:
    """Airflow: move connections and variables out of Airflow's database."""


@airflow.command()
@click.option("--store", required=True, help="The store to copy into (a name from the config).")
@click.option("--apply", is_flag=True, help="Do it (default: a dry run that changes nothing).")
@click.option(
    "--replace-with-references",
    is_flag=True,
    help="Leave each connection in the metastore with references in place of its password "
    "and extra values (after they were read back from the store).",
)
@click.option(
    "--delete",
    is_flag=True,
    help="Delete each item from the metastore once the store's copy was read back.",
)
@click.option("--overwrite", is_flag=True, help="Replace a different value already stored.")
@click.option("--connections/--no-connections", default=True, help="Migrate connections.")
@click.option("--variables/--no-variables", default=True, help="Migrate variables.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@click.pass_context
def migrate(
    ctx: click.Context,
    store: str,
    apply: bool,
    replace_with_references: bool,
    delete: bool,
    overwrite: bool,
    connections: bool,
    variables: bool,
    as_json: bool,
) -> None:
    """Copy Airflow's connections and variables into STORE under the shared names
    (connections/ID, variables/KEY), one line per item and never a value. Exits 1 if an
    item was left behind (a conflict, a read-back that differed)."""
    if replace_with_references and delete:
        raise click.UsageError("--replace-with-references and --delete exclude each other")
    config = ctx.find_root().params.get("config")
    options = Options(store, apply, replace_with_references, delete, overwrite)
    outcomes: list[Outcome] = []
    out = sys.stdout
    # Airflow's own log lines (structlog prints to stdout) go to stderr: stdout is ours.
    with exit_on_error(), contextlib.redirect_stdout(sys.stderr):
        migration = Migration(shared_resolver(config), options)
        for outcome in _run(migration, connections, variables):
            outcomes.append(outcome)
            if not as_json:
                click.echo(outcome.line(), file=out)
    refused = [o for o in outcomes if not o.ok]
    if as_json:
        click.echo(json.dumps([o.to_dict() for o in outcomes], indent=2))
    else:
        mode = "" if apply else " (dry run: nothing was changed; --apply does it)"
        click.echo(f"{len(outcomes)} item(s): {summary(outcomes) or 'none'}{mode}")
    if refused:
        click.echo(
            f"secretbridge: error: {len(refused)} item(s) left as they are (see above)", err=True
        )
        sys.exit(1)


def _run(migration: Migration, connections: bool, variables: bool) -> Iterator[Outcome]:
    try:
        from airflow.models import Connection as AirflowConnection
        from airflow.models import Variable
        from airflow.utils.session import create_session
        from sqlalchemy import select
    except ImportError as error:
        raise MissingDependency(
            f"secretbridge airflow needs Airflow in this environment ({error}); "
            "install it with: pip install 'secretbridge[airflow]'"
        ) from None

    with create_session() as session:
        if connections:
            for row in session.scalars(select(AirflowConnection).order_by("conn_id")).all():
                try:
                    row.extra  # noqa: B018 - Airflow validates it on reading
                except ValueError:  # its message names the connection only; not kept
                    unreadable = True
                else:
                    unreadable = False
                if unreadable:
                    yield migration.refused_connection(
                        row.conn_id,
                        "Airflow cannot read its extra, which is not a JSON object; "
                        "set the extra again in Airflow first",
                    )
                    continue
                conn = Connection.from_attributes(row)

                def replace(password: str | None, extra: str | None, row: Any = row) -> None:
                    row.password = password
                    row.extra = extra
                    session.commit()

                def delete(row: Any = row) -> None:
                    session.delete(row)
                    session.commit()

                yield migration.connection(row.conn_id, conn, replace, delete)
        if variables:
            for row in session.scalars(select(Variable).order_by("key")).all():

                def delete_variable(row: Any = row) -> None:
                    session.delete(row)
                    session.commit()

                yield migration.variable(row.key, row.val, delete_variable)
