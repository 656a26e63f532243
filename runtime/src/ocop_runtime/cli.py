"""The ``ocop`` command: start and stop the local stack, check the services, handle dead letters.

The async functions (:func:`service_status`, :func:`list_dead_letters`, :func:`replay`) do the work;
the typer commands only parse options, run them and print the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import typer
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from ocop_contracts import topics
from ocop_runtime.devidp import idp_dir, issue_token
from ocop_runtime.dlq import DeadLetter
from ocop_runtime.kafka import consumer_lag, read_all
from ocop_runtime.outbox import kafka_producer

SERVICE_PORTS: dict[str, int] = {
    "registry": 8001,
    "evaluation": 8002,
    "trade": 8003,
    "inspection": 8004,
}
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
LAG_SECONDS = 15.0

T = TypeVar("T")
Selector = tuple[int, int] | Literal["all"]
"""Which dead letters to replay: ``(partition, offset)`` of one, or ``"all"``."""


class CliError(Exception):
    """A refusal or failure to report to the operator as one line, without a traceback."""


# --- stack -------------------------------------------------------------------------------------


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that has ``deploy/stack.sh``."""
    for folder in (start, *start.parents):
        if (folder / "deploy" / "stack.sh").is_file():
            return folder
    raise CliError(f"no deploy/stack.sh in {start} or above: run ocop inside the ocop repository")


def run_stack(action: str, start: Path) -> int:
    root = find_root(start)
    return subprocess.run([str(root / "deploy" / "stack.sh"), action], cwd=root).returncode


# --- status ------------------------------------------------------------------------------------


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
    urls = {name: f"{base}:{port}" for name, port in SERVICE_PORTS.items()}
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


# --- dead letters ------------------------------------------------------------------------------


async def list_dead_letters(bootstrap: str, service: str) -> list[DeadLetter]:
    """Every dead letter of ``service``, by partition and offset."""
    letters = [
        _dead_letter(tp, record) for tp, record in await read_all(bootstrap, topics.dlq(service))
    ]
    return sorted(letters, key=lambda d: (d.dlq_partition, d.dlq_offset))


def _dead_letter(tp: TopicPartition, record: Any) -> DeadLetter:
    return DeadLetter(
        dlq_offset=record.offset,
        dlq_partition=tp.partition,
        key=record.key,
        value=record.value,
        headers=[(k, bytes(v)) for k, v in record.headers or ()],
    )


async def replay(bootstrap: str, service: str, selector: Selector) -> list[DeadLetter]:
    """Publish the selected dead letters again, as they were, on their original topics."""
    letters = await list_dead_letters(bootstrap, service)
    if selector != "all":
        letters = [d for d in letters if (d.dlq_partition, d.dlq_offset) == selector]
        if not letters:
            partition, offset = selector
            raise CliError(
                f"no dead letter at partition {partition}, offset {offset} of {topics.dlq(service)}"
            )
    nowhere = [d for d in letters if not d.original_topic]
    if nowhere:
        raise CliError(
            f"dead letter at partition {nowhere[0].dlq_partition}, offset {nowhere[0].dlq_offset}"
            " has no original topic header; nothing was replayed"
        )
    if not letters:
        return []
    producer = kafka_producer(bootstrap, client_id="ocop-cli")
    await producer.start()
    try:
        # Send all, then await all: the idempotent producer keeps each partition's order.
        sent = [
            await producer.send(
                d.original_topic, key=d.key, value=d.value, headers=d.original_headers
            )
            for d in letters
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return letters


# --- commands ----------------------------------------------------------------------------------

app = typer.Typer(help="Operate the ocop services.", no_args_is_help=True, add_completion=False)
dlq_app = typer.Typer(help="List and replay dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

BootstrapOption = typer.Option(
    DEFAULT_BOOTSTRAP,
    "--bootstrap",
    envvar="OCOP_KAFKA_BOOTSTRAP_SERVERS",
    help="Kafka bootstrap servers.",
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _run(work: Coroutine[Any, Any, T], bootstrap: str) -> T:
    try:
        return asyncio.run(work)
    except CliError as exc:
        raise _fail(str(exc)) from None
    except (KafkaError, OSError) as exc:
        raise _fail(f"Kafka at {bootstrap}: {exc}") from None


def _consumer_service(service: str) -> str:
    if service not in topics.CONSUMER_SERVICES:
        raise _fail(
            f"unknown service {service!r}; expected one of {', '.join(topics.CONSUMER_SERVICES)}",
            code=2,
        )
    return service


@app.command()
def up() -> None:
    """Start Kafka, PostgreSQL and the services (deploy/stack.sh up)."""
    _stack("up")


@app.command()
def down() -> None:
    """Stop what `ocop up` started (deploy/stack.sh down)."""
    _stack("down")


def _stack(action: str) -> None:
    try:
        code = run_stack(action, Path.cwd())
    except CliError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def status(
    host: str = typer.Option("http://127.0.0.1", help="Base URL; each service's port is added."),
    url: list[str] = typer.Option(
        [], "--url", metavar="SERVICE=URL", help="Base URL of one service (repeatable)."
    ),
    bootstrap: str = BootstrapOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Readiness, outbox backlog, dead letters and consumer lag of each service."""
    overrides: dict[str, str] = {}
    for item in url:
        name, sep, base = item.partition("=")
        if not sep or name not in SERVICE_PORTS:
            raise _fail(
                f"--url {item!r}: expected SERVICE=URL, SERVICE one of {', '.join(SERVICE_PORTS)}",
                2,
            )
        overrides[name] = base
    statuses = _run(service_status(bootstrap, service_urls(host, overrides)), bootstrap)
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in statuses], indent=2))
    else:
        Console().print(_status_table(statuses))
    raise typer.Exit(0 if all(s.ready for s in statuses) else 1)


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


@dlq_app.command("list")
def dlq_list(
    service: str = typer.Argument(..., help="Consuming service whose dead letters to show."),
    bootstrap: str = BootstrapOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int | None = typer.Option(None, min=1, help="Show at most N dead letters."),
) -> None:
    """Show the dead letters of SERVICE."""
    letters = _run(list_dead_letters(bootstrap, _consumer_service(service)), bootstrap)
    shown = letters[:limit]
    title = f"{topics.dlq(service)}: {len(letters)} dead letter(s), {len(shown)} shown"
    _print_letters(shown, as_json, title=title)


@dlq_app.command("replay")
def dlq_replay(
    service: str = typer.Argument(..., help="Consuming service whose dead letters to replay."),
    partition: int | None = typer.Option(None, min=0, help="Partition of the dead letter."),
    offset: int | None = typer.Option(None, min=0, help="Offset of the dead letter."),
    replay_all: bool = typer.Option(False, "--all", help="Replay every dead letter."),
    bootstrap: str = BootstrapOption,
) -> None:
    """Publish dead letters again on their original topics (inboxes absorb repeats)."""
    _consumer_service(service)
    selector: Selector
    if replay_all and partition is None and offset is None:
        selector = "all"
    elif not replay_all and partition is not None and offset is not None:
        selector = (partition, offset)
    else:
        raise _fail("choose what to replay: --all, or --partition P with --offset O", 2)
    letters = _run(replay(bootstrap, service, selector), bootstrap)
    _print_letters(letters, False, title=f"replayed {len(letters)} from {topics.dlq(service)}")


def _print_letters(letters: Sequence[DeadLetter], as_json: bool, *, title: str) -> None:
    summaries = [d.summary() for d in letters]
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    table = Table(title=title)
    for column in ("at", "ce_type", "ce_id", "from", "attempts", "time", "reason"):
        table.add_column(column)
    for s in summaries:
        table.add_row(
            f"{s['dlq_partition']}/{s['dlq_offset']}",
            s["ce_type"],
            s["ce_id"],
            f"{s['topic']} {s['partition']}/{s['offset']}",
            s["attempts"],
            s["time"],
            s["reason"],
        )
    Console().print(table)


IMPORT_CHUNK_ROWS = 200
DEMO_FILE = Path("services/registry/data/demo/products.csv")


@dataclass
class ImportTotals:
    rows: int = 0
    created_producers: int = 0
    created_products: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def csv_chunks(text: str, size: int) -> list[tuple[int, str]]:
    """Split a CSV into chunks of ``size`` data lines, each with the header; returns the
    number of the chunk's first line in the file (for error messages) and its text."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines:
        return []
    header, body = lines[0], lines[1:]
    return [
        (start + 2, "\n".join([header, *body[start : start + size]]) + "\n")
        for start in range(0, len(body), size)
    ]


def import_csv(
    text: str,
    registry_url: str,
    *,
    dry_run: bool,
    token: str | None = None,
    on_chunk: Any = None,
) -> ImportTotals:
    """Send a CSV to the registry's import endpoint chunk by chunk. Rows with quoted line
    breaks are not split across chunks only if they have none; the districts' lists do not."""
    totals = ImportTotals()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=registry_url, timeout=120, headers=headers) as client:
        for first_line, chunk in csv_chunks(text, IMPORT_CHUNK_ROWS):
            response = client.post(
                "/imports/products",
                content=chunk.encode(),
                params={"dry_run": str(dry_run).lower()},
                headers={"content-type": "text/csv"},
            )
            if response.status_code != 200:
                raise CliError(
                    f"registry refused the import: {response.status_code} {response.text}"
                )
            report = response.json()
            for key in ("rows", "created_producers", "created_products", "unchanged", "rejected"):
                setattr(totals, key, getattr(totals, key) + report[key])
            for error in report["errors"]:
                totals.errors.append({**error, "row": error["row"] - 2 + first_line})
            if on_chunk:
                on_chunk(report["rows"])
    return totals


def _idp() -> Path:
    """The development key of this checkout's stack (or of ``OCOP_STATE_DIR``)."""
    if os.environ.get("OCOP_STATE_DIR"):
        return idp_dir()
    try:
        return idp_dir(find_root(Path.cwd()) / ".ocop")
    except CliError:
        return idp_dir()


def cli_token(token: str | None) -> str | None:
    """The given token, else one from the development key (``make up`` made it), if any."""
    if token:
        return token
    directory = _idp()
    if (directory / "signing-key.pem").exists():
        return issue_token(directory, roles=["city_office"], subject="ocop-cli", name="ocop CLI")
    return None


def _import(path: Path, registry_url: str, dry_run: bool, as_json: bool, token: str | None) -> None:
    from rich.progress import Progress

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {path}: {exc}", 2) from exc
    rows = max(len(text.splitlines()) - 1, 0)
    try:
        with Progress(disable=as_json) as progress:
            task = progress.add_task(f"importing {path.name}", total=rows)
            totals = import_csv(
                text,
                registry_url,
                dry_run=dry_run,
                token=cli_token(token),
                on_chunk=lambda n: progress.advance(task, n),
            )
    except (httpx.HTTPError, CliError) as exc:
        raise _fail(f"import failed: {exc}") from exc
    if as_json:
        typer.echo(json.dumps(asdict(totals), indent=2, ensure_ascii=False))
    else:
        typer.echo(
            f"{totals.rows} rows: {totals.created_products} products and "
            f"{totals.created_producers} producers created, {totals.unchanged} unchanged, "
            f"{totals.rejected} rejected{' (dry run)' if dry_run else ''}"
        )
        for error in totals.errors[:20]:
            typer.echo(f"  line {error['row']}: {error['field']}: {error['reason']}")
        if len(totals.errors) > 20:
            typer.echo(f"  ... and {len(totals.errors) - 20} more (--json prints all)")
    raise typer.Exit(1 if totals.rejected else 0)


TokenOption = typer.Option(
    None,
    "--token",
    envvar="OCOP_TOKEN",
    help="Bearer token (default: a city-office token from the development key).",
)
RegistryOption = typer.Option(
    f"http://127.0.0.1:{SERVICE_PORTS['registry']}", "--registry", help="Registry base URL."
)


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="CSV, one row a product (see the registry's README)."),
    registry: str = RegistryOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Import producers and products from a district's CSV list (idempotent)."""
    _import(path, registry, dry_run, as_json, token)


@app.command()
def seed(
    registry: str = RegistryOption,
    path: Path | None = typer.Option(None, "--file", help="Default: the shipped demo data set."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Load the demonstration data set (600 products of Hanoi-like producers); run it again
    and nothing changes."""
    if path is None:
        try:
            path = find_root(Path.cwd()) / DEMO_FILE
        except CliError as exc:
            raise _fail(str(exc), 2) from exc
    _import(path, registry, False, as_json, token)


agency_app = typer.Typer(help="Kafka principals of other agencies' systems.", no_args_is_help=True)
app.add_typer(agency_app, name="agency")


@agency_app.command("add")
def agency_add(
    name: str = typer.Argument(..., help="Short lower-case name, e.g. so-cong-thuong."),
    bootstrap: str = BootstrapOption,
    password: str | None = typer.Option(
        None, "--password", envvar="OCOP_AGENCY_PASSWORD", help="Default: a random one."
    ),
) -> None:
    """Create (or reset) an agency's Kafka principal: it may read the public topics and its
    replies with consumer groups agency.NAME.*, and send commands. Prints its settings."""
    import re
    import secrets

    from ocop_runtime.kafka_security import KafkaSecurityError, add_agency

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,40}", name):
        raise _fail(f"agency name {name!r}: use 2-41 lower-case letters, digits or '-'", 2)
    secret = password or secrets.token_urlsafe(24)
    try:
        principal = _run(add_agency(bootstrap, name, secret), bootstrap)
    except KafkaSecurityError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        "\n".join(
            [
                f"bootstrap.servers={bootstrap}",
                "security.protocol=SASL_PLAINTEXT",
                "sasl.mechanism=SCRAM-SHA-512",
                f"sasl.username={principal}",
                f"sasl.password={secret}",
                f"group.id.prefix=agency.{name}.",
                "topics.read=" + ",".join(topics.EVENT_TOPICS),
            ]
        )
    )


@app.command("token")
def token_command(
    role: list[str] = typer.Option(..., "--role", help="city_office, commune_officer, ..."),
    unit: list[str] = typer.Option([], "--unit", help="A unit code the person works for."),
    producer: str | None = typer.Option(None, "--producer", help="Producer id (producer role)."),
    subject: str | None = typer.Option(None, "--subject", help="Default: a random dev id."),
    ttl: int = typer.Option(3600, "--ttl", min=60, max=86400, help="Seconds."),
) -> None:
    """Print an access token signed with the development key (``make up`` creates it)."""
    from uuid import UUID

    from ocop_runtime.auth import Role
    from ocop_runtime.devidp import ensure_key

    known = {r.value for r in Role}
    unknown = sorted(set(role) - known)
    if unknown:
        raise _fail(f"unknown role(s) {', '.join(unknown)}; one of {', '.join(sorted(known))}", 2)
    try:
        producer_id = UUID(producer) if producer else None
    except ValueError as exc:
        raise _fail(f"--producer {producer!r} is not a UUID", 2) from exc
    directory = _idp()
    ensure_key(directory)
    typer.echo(
        issue_token(
            directory,
            roles=role,
            units=unit,
            producer_id=producer_id,
            subject=subject,
            ttl_seconds=ttl,
        )
    )


def main() -> None:
    # Connection failures are reported once by the command; aiokafka's own log lines repeat them.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()
