"""``ocop seed``: the demonstration scenario (:mod:`ocop_registry.demo`) loaded over HTTP, the
products through the registry's import, then their certificates through evaluation's history
import (``POST /imports/certificates``) once evaluation holds the products. Running it again
changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ocop_registry import demo
from ocop_runtime.cli import CliError

HISTORY_CHUNK_ROWS = 2000


@dataclass
class CertificateTotals:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def history_csv(products: list[demo.DemoProduct], codes: dict[int, str]) -> list[str]:
    """The scenario's certificate rows for the products the registry holds (``codes``: file
    line of the product -> public code), in chunks that keep a product's rows together."""
    chunks: list[str] = []
    rows: list[dict[str, str]] = []
    for line, product in enumerate(products, start=2):
        code = codes.get(line)
        if code is None or not product.history:
            continue
        if len(rows) + len(product.history) > HISTORY_CHUNK_ROWS:
            chunks.append(demo.to_csv(rows, demo.HISTORY_COLUMNS))
            rows = []
        rows += [{**r, "public_code": code} for r in product.history]
    if rows:
        chunks.append(demo.to_csv(rows, demo.HISTORY_COLUMNS))
    return chunks


def _post(client: httpx.Client, chunk: str, *, dry_run: bool) -> dict[str, Any]:
    response = client.post(
        "/imports/certificates",
        content=chunk.encode(),
        params={"dry_run": str(dry_run).lower()},
        headers={"content-type": "text/csv"},
    )
    if response.status_code != 200:
        raise CliError(
            f"evaluation refused the certificates: {response.status_code} {response.text}"
        )
    report: dict[str, Any] = response.json()
    return report


def load_certificates(
    chunks: list[str],
    evaluation_url: str,
    *,
    token: str | None,
    wait_seconds: float,
    on_chunk: Callable[[int], object] | None = None,
) -> CertificateTotals:
    """Wait until evaluation knows every product (its copy comes from registry's events), then
    send the certificate rows."""
    totals = CertificateTotals()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=evaluation_url, timeout=300, headers=headers) as client:
        deadline = time.monotonic() + wait_seconds
        for chunk in chunks:
            while True:
                probe = _post(client, chunk, dry_run=True)
                unknown = [e for e in probe["errors"] if e["field"] == "public_code"]
                if not unknown:
                    break
                if time.monotonic() > deadline:
                    raise CliError(
                        f"evaluation does not know {len(unknown)} of the products after "
                        f"{wait_seconds:.0f} s; is it running and consuming registry's events?"
                    )
                time.sleep(1.0)
            report = _post(client, chunk, dry_run=False)
            for key in ("rows", "created", "unchanged", "rejected"):
                setattr(totals, key, getattr(totals, key) + report[key])
            totals.errors += report["errors"]
            if on_chunk:
                on_chunk(report["rows"])
    return totals
