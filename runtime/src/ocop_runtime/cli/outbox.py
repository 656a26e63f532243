"""``ocop outbox parked SERVICE``: the outbox rows a service's relay set aside because the broker
can never take them (too large, not authorised, unknown topic), with the reason; ``--retry ID``
or ``--retry-all`` releases them (and the rows of their keys that wait behind them), and the
relay sends them again in order. A row whose cause is still there is parked again."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from ocop_runtime.cli.common import fail
from ocop_runtime.db import create_pool
from ocop_runtime.outbox import ParkedRow, parked_rows, retry_parked
from ocop_runtime.services import discover
from ocop_runtime.settings import dev_database_url


async def parked(
    database_url: str, schema: str, retry: Sequence[int] | None, retry_all: bool
) -> tuple[int, list[ParkedRow]]:
    """Release the rows asked for (if any), then list what is still parked."""
    pool = await create_pool(database_url, schema, min_size=1, max_size=2)
    try:
        released = 0
        if retry_all:
            released = await retry_parked(pool, None)
        elif retry:
            released = await retry_parked(pool, list(retry))
        return released, await parked_rows(pool)
    finally:
        await pool.close()


def parked_command(
    service: str = typer.Argument(..., help="Service whose outbox to look at."),
    database_url: str | None = typer.Option(
        None,
        envvar="OCOP_DATABASE_URL",
        help="The service's DSN (default: the local stack's login role of SERVICE).",
    ),
    schema: str | None = typer.Option(
        None, envvar="OCOP_DB_SCHEMA", help="The service's schema (default: the catalogue's)."
    ),
    retry: list[int] = typer.Option([], "--retry", help="Release this parked row (repeat)."),
    retry_all: bool = typer.Option(False, "--retry-all", help="Release every parked row."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the parked outbox rows of SERVICE, with why; release them with --retry."""
    entries = {entry.name: entry for entry in discover()}
    if service not in entries:
        raise fail(f"unknown service {service!r}; expected one of {', '.join(entries)}", code=2)
    if retry and retry_all:
        raise fail("choose --retry ID... or --retry-all", code=2)
    dsn = database_url or dev_database_url(service)
    try:
        released, rows = asyncio.run(
            parked(dsn, schema or entries[service].schema, retry, retry_all)
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise fail(f"PostgreSQL for {service}: {type(exc).__name__}: {exc}") from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "released": released,
                    "parked": [dataclasses.asdict(r) for r in rows],
                },
                default=str,
                indent=2,
            )
        )
        return
    table = Table(title=f"{service}: {len(rows)} parked row(s); {released} released now")
    for column in ("id", "topic", "key", "ce_type", "parked at", "reason"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), r.topic, r.key, r.ce_type, r.parked_at.isoformat(), r.reason)
    Console().print(table)


def register(app: typer.Typer) -> None:
    outbox_app = typer.Typer(help="The outbox relay's parked rows.", no_args_is_help=True)
    outbox_app.command("parked")(parked_command)
    app.add_typer(outbox_app, name="outbox")
