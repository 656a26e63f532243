"""The registry's ``ocop`` commands: ``import FILE`` (a district's CSV list) and ``seed`` (the
demonstration data set), both through the registry's import endpoint over HTTP.

Added to the ``ocop`` command by the registry's catalogue entry (:mod:`ocop_registry.service`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer

from ocop_registry.service import SPEC
from ocop_runtime.cli import CliError, TokenOption, cli_token, fail

IMPORT_CHUNK_ROWS = 200
DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "demo" / "products.csv"


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
    on_chunk: Callable[[int], object] | None = None,
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


def _import(path: Path, registry_url: str, dry_run: bool, as_json: bool, token: str | None) -> None:
    from rich.progress import Progress

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}", 2) from exc
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
        raise fail(f"import failed: {exc}") from exc
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


RegistryOption = typer.Option(
    f"http://127.0.0.1:{SPEC.http_port}", "--registry", help="Registry base URL."
)


def import_command(
    path: Path = typer.Argument(..., help="CSV, one row a product (see the registry's README)."),
    registry: str = RegistryOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Import producers and products from a district's CSV list (idempotent)."""
    _import(path, registry, dry_run, as_json, token)


def seed(
    registry: str = RegistryOption,
    path: Path | None = typer.Option(None, "--file", help="Default: the shipped demo data set."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Load the demonstration data set (600 products of Hanoi-like producers); run it again
    and nothing changes."""
    _import(path or DEMO_FILE, registry, False, as_json, token)


def register(app: typer.Typer) -> None:
    """Add ``import`` and ``seed`` to the root ``ocop`` command."""
    app.command("import")(import_command)
    app.command("seed")(seed)
