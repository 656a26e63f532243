"""The ``make bench`` table: every row the benchmarks reported in this run, as one table.

``python -m bench.table`` reads ``$OCOP_BENCH_ROWS_FILE`` (one JSON row a line, written by
:func:`bench.common.report`), prints the table, compares each row with the same name and sizes in
the previous run's ``results.json`` and then replaces that file with this run's
(``$OCOP_BENCH_RESULTS_DIR``, default ``.ocop/bench``). ``--list`` prints the benchmark modules
``deploy/bench.sh`` runs by default: every ``bench/*.py`` with a ``main()``, the relay, registry
and evaluation benchmarks first.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import is_rate

BENCH = Path(__file__).parent
ROOT = BENCH.parent
FIRST = ["outbox_relay", "registry_api", "evaluation_round"]
NOT_BENCHMARKS = {"__init__", "common", "table"}
# Benchmarks run on their own (`make bench-growth`), not by `make bench`: they take too long.
SEPARATE = {"growth"}


def modules() -> list[str]:
    """The benchmark modules: each ``bench/*.py`` that defines ``main``."""
    found = []
    for path in sorted(BENCH.glob("*.py")):
        if path.stem in NOT_BENCHMARKS or path.stem in SEPARATE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main"
            for node in tree.body
        ):
            found.append(path.stem)
    ordered = [m for m in FIRST if m in found] + [m for m in found if m not in FIRST]
    return [f"bench.{m}" for m in ordered]


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if is_rate(unit) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def _key(row: dict[str, Any]) -> str:
    return json.dumps([row["name"], row.get("sizes") or {}], sort_keys=True)


def _sizes(sizes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in sizes.items())


def render(rows: list[dict[str, Any]], previous: dict[str, dict[str, Any]]) -> list[str]:
    """The table's lines: name, unit, ocop, raw, ratio (time), target, change, sizes."""
    header = ("path", "unit", "ocop", "raw", "ratio", "target", "vs last", "sizes")
    body = []
    for row in rows:
        ratio, target, limit = row.get("ratio"), row.get("target"), row.get("limit")
        bounds = []
        if target is not None:
            met = ratio is not None and ratio <= target
            bounds.append(f"<= {target:.2f}x {'ok' if met else 'OVER'}")
        if limit is not None:
            rate = is_rate(row["unit"])
            met = row["ocop"] >= limit if rate else row["ocop"] <= limit
            bounds.append(f"{'>=' if rate else '<='} {limit:g} {'ok' if met else 'OVER'}")
        before = previous.get(_key(row))
        change = "-"
        if before is not None and before.get("ocop"):
            # In time, like the ratio: below 1.0 the path got faster than in the last run.
            now, then = row["ocop"], before["ocop"]
            change = f"{(then / now if is_rate(row['unit']) else now / then):.2f}x"
        body.append(
            (
                row["name"],
                row["unit"],
                _figure(row["ocop"], row["unit"]),
                _figure(row.get("raw"), row["unit"]),
                "-" if ratio is None else f"{ratio:.2f}x",
                "; ".join(bounds) or "-",
                change,
                _sizes(row.get("sizes") or {}),
            )
        )
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    right = {2, 3, 4, 6}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), line(tuple("-" * w for w in widths)), *(line(r) for r in body)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the benchmark modules")
    parser.add_argument("--seconds", type=int, default=None, help="how long the run took")
    args = parser.parse_args()
    if args.list:
        print("\n".join(modules()))
        return 0
    results_dir = Path(os.environ.get("OCOP_BENCH_RESULTS_DIR", ROOT / ".ocop" / "bench"))
    rows_file = Path(os.environ.get("OCOP_BENCH_ROWS_FILE", results_dir / "rows.jsonl"))
    rows = [
        json.loads(line)
        for line in (
            rows_file.read_text(encoding="utf-8") if rows_file.exists() else ""
        ).splitlines()
        if line.strip()
    ]
    results = results_dir / "results.json"
    previous: dict[str, dict[str, Any]] = {}
    last_run = None
    if results.exists():
        try:
            before = json.loads(results.read_text(encoding="utf-8"))
            previous = {_key(r): r for r in before.get("rows", [])}
            last_run = before.get("finished_at")
        except (ValueError, AttributeError):
            print(f"note: {results} is not a results file; not compared", file=sys.stderr)
    print()
    took = f" in {args.seconds // 60} min {args.seconds % 60} s" if args.seconds else ""
    print(
        f"make bench{took}: ratio = ocop time / raw time for the same work, same run"
        f" (1.0 is the floor); vs last = ocop now / ocop {last_run or 'of the last run'} in time"
    )
    for text in render(rows, previous):
        print(text)
    results_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": args.seconds,
        "rows": rows,
    }
    results.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
