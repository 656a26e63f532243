"""Benchmark: how cost grows with the amount of work. The outbox relay, the batched consumer and
the CSV import at each size of ``OCOP_BENCH_GROWTH_SIZES`` (records; default 10,000 and 100,000,
``10000,100000,1000000`` for the million): time per record and peak memory at each size, which
must stay flat (within 20% of the smallest size). ``make bench-growth`` runs it; ``make bench``
does not (it would take far longer than ten minutes).

Every measurement at every size runs in a child process of its own, so its peak resident memory
(read with ``os.wait4``) is its own and nothing one size left behind weighs on the next:

- **relay**: ``bench.outbox_relay`` with ``OCOP_BENCH_ROWS`` = size, one round; its raw aiokafka
  + asyncpg baseline publishes the same rows in the same process, so the memory is the peak of
  the two (each holds at most one batch of records at a time).
- **batched consumer**: ``bench.insights_replay`` with ``OCOP_BENCH_INSIGHTS_EVENTS`` = size;
  it runs the service's replay and its raw batched baseline in processes of their own and
  reports each one's peak memory.
- **import**: this module's ``import`` part: the registry in process (``create_app`` +
  ``running``), ``POST /imports/products`` with files of 2,000 rows (what ``ocop import``
  sends; a request takes at most 5,000) until ``size`` products are stored, timed from the first
  file to the last; no baseline (the ratio against raw at one size is ``make bench``'s row).

The table has a row per path and size (ocop and raw in µs per record) and one per path with the
largest over the smallest time per record (target ≤ 1.2x), and the same for peak memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from bench.common import InProcess, bench_settings, quiet_faststream, report, skip_app_history

SIZES = [int(s) for s in os.environ.get("OCOP_BENCH_GROWTH_SIZES", "10000,100000").split(",")]
FILE_ROWS = 2000
FLAT = 1.2


def _child(module: str, *args: str, env: dict[str, str]) -> tuple[list[dict[str, Any]], float]:
    """Run ``python -m module args`` with ``env`` added; its report rows and its peak RSS (MB)."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as rows_file:
        rows_path = Path(rows_file.name)
    child_env = {**os.environ, **env, "OCOP_BENCH_ROWS_FILE": str(rows_path)}
    process = subprocess.Popen([sys.executable, "-m", module, *args], env=child_env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{module} {' '.join(args)} failed with {process.returncode}")
    rows = [json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
    rows_path.unlink()
    return rows, usage.ru_maxrss / 1024


def _row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [r for r in rows if r["name"] == name]
    return found


def _per_record_us(rate: float | None) -> float | None:
    return None if not rate else 1e6 / rate


def relay(size: int) -> dict[str, Any]:
    rows, peak = _child(
        "bench.outbox_relay",
        env={"OCOP_BENCH_ROWS": str(size), "OCOP_BENCH_ROUNDS": "1", "OCOP_BENCH_RECORDS": "200"},
    )
    row = _row(rows, "outbox relay -> kafka")
    return {
        "ocop": _per_record_us(row["ocop"]),
        "raw": _per_record_us(row["raw"]),
        # The relay's side: the process's peak before the raw baseline (which holds every row
        # at once) ran at full size; the whole process's peak is the raw side's.
        "peak_ocop": _row(rows, "outbox relay peak memory")["ocop"],
        "peak_raw": peak,
    }


def batched_consumer(size: int) -> dict[str, Any]:
    rows, _ = _child("bench.insights_replay", env={"OCOP_BENCH_INSIGHTS_EVENTS": str(size)})
    rate = _row(rows, "insights replay (batched consumer)")
    memory = _row(rows, "insights replay peak memory")
    return {
        "ocop": _per_record_us(rate["ocop"]),
        "raw": _per_record_us(rate["raw"]),
        "peak_ocop": memory["ocop"],
        "peak_raw": memory["raw"],
    }


def csv_import(size: int) -> dict[str, Any]:
    rows, peak = _child("bench.growth", "import", str(size), env={})
    row = _row(rows, "growth: import part")
    return {"ocop": row["ocop"], "raw": None, "peak_ocop": peak, "peak_raw": None}


async def import_part(size: int) -> None:
    """In a child: ``size`` products imported in files of ``FILE_ROWS``; µs per row reported."""
    from ocop_registry import demo
    from ocop_registry.app import create_app
    from ocop_registry.settings import RegistrySettings
    from ocop_runtime.testing import running

    quiet_faststream()
    settings = bench_settings(RegistrySettings, uuid4().hex[:8])
    app = create_app(settings)
    await skip_app_history(app, settings)
    async with running(app) as http:
        client = InProcess(app, {"authorization": http.headers["authorization"]})
        today = app.state.registry.clock().date()
        stored, files, seconds = 0, 0, 0.0
        while stored < size:
            rows = demo.rows(min(FILE_ROWS, size - stored), seed=10_000 + files, today=today)
            text = demo.to_csv(rows).encode()
            started = time.perf_counter()
            response = await client.post(
                "/imports/products", content=text, headers={"content-type": "text/csv"}
            )
            seconds += time.perf_counter() - started
            response.raise_for_status()
            created = response.json()["created_products"]
            if not created:
                raise SystemExit(f"file {files}: no product created: {response.text[:500]}")
            stored += created
            files += 1
            if files % 50 == 0:
                print(f"  import: {stored:,} of {size:,} products", flush=True)
        report("growth: import part", "µs", ocop=seconds / stored * 1e6, raw=None)


PATHS = {"relay": relay, "batched consumer": batched_consumer, "import": csv_import}


def main() -> int:
    if sys.argv[1:2] == ["import"]:
        asyncio.run(import_part(int(sys.argv[2])))
        return 0
    print(f"growth: sizes {', '.join(f'{s:,}' for s in SIZES)}", flush=True)
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for path, measure in PATHS.items():
        for size in SIZES:
            started = time.monotonic()
            print(f"growth: {path} at {size:,} records", flush=True)
            result = results.setdefault(path, {})[size] = measure(size)
            print(
                f"growth: {path} at {size:,}: {result['ocop']:.1f} µs per record,"
                f" peak {result['peak_ocop']:.0f} MB ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    measures = (("per record", "µs", "ocop", "raw"), ("peak memory", "MB", "peak_ocop", "peak_raw"))
    for path, by_size in results.items():
        smallest, largest = min(by_size), max(by_size)
        for what, unit, ours, theirs in measures:
            for size, r in by_size.items():
                sizes = {"records": size}
                report(f"growth: {path}, {what}", unit, ocop=r[ours], raw=r[theirs], sizes=sizes)
            # The ratio column of this row is the largest size's figure over the smallest's.
            report(
                f"growth: {path}, {what}, largest/smallest",
                unit,
                ocop=by_size[largest][ours],
                raw=by_size[smallest][ours],
                sizes={"from": smallest, "to": largest},
                target=FLAT,
            )
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"growth: this process's own peak {peak_self:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
