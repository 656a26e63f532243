"""Evaluation's ``ocop`` commands: ``import certificates FILE`` (certificates decided before
the system) through ``POST /imports/certificates`` over HTTP, with a progress bar.

Added to the ``ocop`` command by evaluation's catalogue entry (:mod:`ocop_evaluation.service`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer

from ocop_evaluation.service import SPEC
from ocop_runtime.cli import CliError, TokenOption, cli_token, fail
from ocop_runtime.cli.imports import add_import_kind

CHUNK_ROWS = 1000


@dataclass
class HistoryTotals:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    rejected: int = 0
    certificates: int = 0
    events: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def product_chunks(text: str, size: int) -> list[tuple[list[int], str]]:
    """The file's rows in chunks of about ``size``, each product's rows in one chunk (they are
    applied in date order, so a product's history is never split between requests). Each
    chunk comes with the file line of each of its rows, for error messages."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        return []
    names = [h.strip().lower() for h in header]

    def column(row: list[str], name: str) -> str:
        return (
            row[names.index(name)].strip() if name in names and names.index(name) < len(row) else ""
        )

    groups: dict[str, list[tuple[int, list[str]]]] = {}
    for number, row in enumerate(reader, start=2):
        key = column(row, "public_code") or (
            column(row, "registration_number") + "\x00" + column(row, "product_name").casefold()
        )
        groups.setdefault(key, []).append((number, row))
    chunks: list[tuple[list[int], str]] = []
    lines: list[int] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
            chunks.append((list(lines), buffer.getvalue()))
            lines.clear()
            rows.clear()

    for group in groups.values():
        if rows and len(rows) + len(group) > size:
            flush()
        for number, row in group:
            lines.append(number)
            rows.append(row)
    flush()
    return chunks


def import_history(
    text: str,
    evaluation_url: str,
    *,
    dry_run: bool,
    token: str | None = None,
    on_chunk: Callable[[int], object] | None = None,
) -> HistoryTotals:
    totals = HistoryTotals()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=evaluation_url, timeout=300, headers=headers) as client:
        for lines, chunk in product_chunks(text, CHUNK_ROWS):
            response = client.post(
                "/imports/certificates",
                content=chunk.encode(),
                params={"dry_run": str(dry_run).lower()},
                headers={"content-type": "text/csv"},
            )
            if response.status_code != 200:
                raise CliError(
                    f"evaluation refused the import: {response.status_code} {response.text}"
                )
            report = response.json()
            for key in ("rows", "created", "unchanged", "rejected", "certificates", "events"):
                setattr(totals, key, getattr(totals, key) + report[key])
            for error in report["errors"]:
                totals.errors.append({**error, "row": lines[error["row"] - 2]})
            if on_chunk:
                on_chunk(report["rows"])
    totals.errors.sort(key=lambda e: e["row"])
    return totals


EvaluationOption = typer.Option(
    f"http://127.0.0.1:{SPEC.http_port}", "--evaluation", help="Evaluation base URL."
)


def import_certificates(
    path: Path = typer.Argument(..., help="CSV, one row a decision (see evaluation's README)."),
    evaluation: str = EvaluationOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Load certificates decided before the system (idempotent)."""
    from rich.progress import Progress

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}", 2) from exc
    rows = sum(len(lines) for lines, _ in product_chunks(text, CHUNK_ROWS))
    try:
        with Progress(disable=as_json) as progress:
            task = progress.add_task(f"importing {path.name}", total=rows)
            totals = import_history(
                text,
                evaluation,
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
            f"{totals.rows} rows: {totals.created} recorded ({totals.certificates} "
            f"certificates), {totals.unchanged} unchanged, {totals.rejected} rejected"
            f"{' (dry run)' if dry_run else ''}"
        )
        for error in totals.errors[:20]:
            typer.echo(f"  line {error['row']}: {error['field']}: {error['reason']}")
        if len(totals.errors) > 20:
            typer.echo(f"  ... and {len(totals.errors) - 20} more (--json prints all)")
    raise typer.Exit(1 if totals.rejected else 0)


def register(app: typer.Typer) -> None:
    """Add ``import certificates`` to the root ``ocop`` command."""
    add_import_kind(app, "certificates", import_certificates)
