"""``ocop up``, ``down`` and ``status``: the local stack and the state of each service.

The services, their ports and consumer groups come from the catalogue
(:func:`ocop_runtime.services.discover`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from ocop_runtime.cli.common import BootstrapOption, CliError, fail, find_root, run
from ocop_runtime.kafka import consumer_lag
from ocop_runtime.services import discover

LAG_SECONDS = 15.0


def run_stack(action: str, start: Path) -> int:
    root = find_root(start)
    return subprocess.run([str(root / "deploy" / "stack.sh"), action], cwd=root).returncode


@dataclass
class ServiceStatus:
    """What ``ocop status`` knows about one service."""

    service: str
    url: str
    state: str = "down"  # ready, not ready or down
    detail: str = ""
    consumer_group: str = ""
    subscribed_topics: list[str] = field(default_factory=list)
    outbox_backlog: int | None = None
    outbox_oldest_seconds: float | None = None
    dead_letters: int | None = None
    lag: dict[str, int] | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def service_urls(host: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each service's base URL: ``host`` with the service's port, unless overridden."""
    base = host.rstrip("/")
    urls = {s.name: f"{base}:{s.http_port}" for s in discover()}
    urls.update(overrides or {})
    return urls


async def service_status(
    bootstrap: str, urls: Mapping[str, str], *, http_seconds: float = 3.0
) -> list[ServiceStatus]:
    """Readiness, outbox, dead letters and consumer lag of every service in ``urls``."""
    async with httpx.AsyncClient(timeout=http_seconds) as client:
        return list(
            await asyncio.gather(
                *(_one_status(client, bootstrap, name, url) for name, url in urls.items())
            )
        )


async def _one_status(
    client: httpx.AsyncClient, bootstrap: str, service: str, url: str
) -> ServiceStatus:
    status = ServiceStatus(service, url, consumer_group=f"ocop.{service}")
    try:
        ready = await client.get(f"{url}/readyz")
        status.state = "ready" if ready.status_code == 200 else "not ready"
        if not status.ready:
            status.detail = ready.text[:200]
        answer = await client.get(f"{url}/status")
        if answer.status_code == 200:
            body = answer.json()
            status.consumer_group = body.get("consumer_group") or status.consumer_group
            status.subscribed_topics = body.get("subscribed_topics", [])
            status.outbox_backlog = body.get("outbox_backlog")
            status.outbox_oldest_seconds = body.get("outbox_oldest_seconds")
            status.dead_letters = body.get("dead_letters")
    except (httpx.HTTPError, ValueError) as exc:
        status.state, status.detail = "down", f"{type(exc).__name__}: {exc}".rstrip(": ")
    # The lag of a stopped service's group is still worth knowing: it is what piles up meanwhile.
    try:
        status.lag = await asyncio.wait_for(
            consumer_lag(bootstrap, status.consumer_group), LAG_SECONDS
        )
    except (KafkaError, OSError, TimeoutError) as exc:
        status.detail = (status.detail + f"; kafka: {type(exc).__name__}").lstrip("; ")
    return status


def up() -> None:
    """Start Kafka, PostgreSQL and the services (deploy/stack.sh up)."""
    _stack("up")


def down() -> None:
    """Stop what `ocop up` started (deploy/stack.sh down)."""
    _stack("down")


def _stack(action: str) -> None:
    try:
        code = run_stack(action, Path.cwd())
    except CliError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


def status(
    host: str = typer.Option("http://127.0.0.1", help="Base URL; each service's port is added."),
    url: list[str] = typer.Option(
        [], "--url", metavar="SERVICE=URL", help="Base URL of one service (repeatable)."
    ),
    bootstrap: str = BootstrapOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    wide: bool = typer.Option(False, "--wide", help="One wide table, URLs and lag included."),
) -> None:
    """Readiness, outbox backlog, dead letters and consumer lag of each service.

    By default two tables that fit an 80-column terminal: the services, then the consumer lag
    per topic; ``--wide`` prints one table with every column, ``--json`` the data."""
    known = [s.name for s in discover()]
    overrides: dict[str, str] = {}
    for item in url:
        name, sep, base = item.partition("=")
        if not sep or name not in known:
            raise fail(
                f"--url {item!r}: expected SERVICE=URL, SERVICE one of {', '.join(known)}", 2
            )
        overrides[name] = base
    statuses = run(service_status(bootstrap, service_urls(host, overrides)), bootstrap)
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in statuses], indent=2))
    elif wide:
        Console().print(_status_table(statuses))
    else:
        console = Console()
        console.print(_summary_table(statuses))
        console.print(_lag_table(statuses))
    raise typer.Exit(0 if all(s.ready for s in statuses) else 1)


def _summary_table(statuses: Sequence[ServiceStatus]) -> Table:
    table = Table(title="ocop services")
    for column in ("service", "state", "outbox", "oldest s", "dead", "lag"):
        table.add_column(column, no_wrap=True, justify="left" if column == "service" else "right")
    colour = {"ready": "green", "not ready": "yellow", "down": "red"}
    for s in statuses:
        table.add_row(
            s.service,
            f"[{colour[s.state]}]{s.state}[/]",
            _cell(s.outbox_backlog),
            _cell(None if s.outbox_oldest_seconds is None else round(s.outbox_oldest_seconds, 1)),
            _cell(s.dead_letters),
            "?" if s.lag is None else str(sum(s.lag.values())),
        )
    return table


def _lag_table(statuses: Sequence[ServiceStatus]) -> Table:
    table = Table(title="consumer lag per topic")
    table.add_column("service", no_wrap=True)
    table.add_column("topic", overflow="fold")
    table.add_column("lag", justify="right", no_wrap=True)
    for s in statuses:
        if s.detail:
            table.add_row(s.service, f"[yellow]{s.detail}[/]", "")
        for topic, n in sorted((s.lag or {}).items()):
            table.add_row(s.service, topic, str(n))
    return table


def _status_table(statuses: Sequence[ServiceStatus]) -> Table:
    table = Table(title="ocop services")
    for column in ("service", "url", "state", "outbox", "oldest (s)", "dead letters", "lag"):
        table.add_column(column)
    colour = {"ready": "green", "not ready": "yellow", "down": "red"}
    for s in statuses:
        table.add_row(
            s.service,
            s.url,
            f"[{colour[s.state]}]{s.state}[/]" + (f"\n{s.detail}" if s.detail else ""),
            _cell(s.outbox_backlog),
            _cell(None if s.outbox_oldest_seconds is None else round(s.outbox_oldest_seconds, 1)),
            _cell(s.dead_letters),
            _lag_cell(s.lag),
        )
    return table


def _lag_cell(lag: dict[str, int] | None) -> str:
    if lag is None:
        return "?"
    return "\n".join(f"{topic}: {n}" for topic, n in sorted(lag.items())) or "0"


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(status)
