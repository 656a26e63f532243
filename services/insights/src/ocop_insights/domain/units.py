"""Which unit a product's place counts under on a day: its district before the 2025
reorganisation, its commune or ward after it, old communes carried over to the new ones.

Commune codes were reused on 1 July 2025, so a code alone does not say which list it is from:
a place recorded before that day is an old commune and is carried over through the official
mapping (``mapping_2025.csv``), after the communes merged on 1 January 2025 are first taken to
their successors (``communes_merged_2025.csv``). An old commune split between several new ones
is counted under one of them: the one that took its name, else the first by code. That choice is
modelled (the statistics office publishes no product-level split), and the data says so in
``data/SOURCES.md``.
"""

from __future__ import annotations

import csv
import functools
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def _carried_over() -> dict[str, str]:
    """Old commune code (before 1 July 2025) -> the new commune it is counted under."""
    new_names = {r["code"]: r["name"] for r in _rows("communes_2025.csv")}
    old_names = {r["code"]: r["name"] for r in _rows("communes_pre2025.csv")}
    candidates: dict[str, list[str]] = defaultdict(list)
    for r in _rows("mapping_2025.csv"):
        candidates[r["old_code"]].append(r["new_code"])
    out = {}
    for old, news in candidates.items():
        named = [n for n in news if new_names.get(n) == old_names.get(old)]
        out[old] = named[0] if named else min(news)
    for r in _rows("communes_merged_2025.csv"):
        successor = out.get(r["successor_code"])
        if successor is not None:
            out.setdefault(r["code"], successor)
    return out


def new_commune(old_code: str) -> str | None:
    """The commune or ward an old commune is counted under from 1 July 2025 (None: unknown)."""
    return _carried_over().get(old_code)


def unit_key(
    tier: str, commune_code: str | None, district_code: str | None, recorded_before: bool
) -> str | None:
    """The statistic key of a place on a day of ``tier`` ("district" before the
    reorganisation, "commune" after it); ``recorded_before``: the place was recorded before
    the reorganisation (so its commune code is an old one)."""
    if commune_code is None:
        return None
    if tier == "district":
        if district_code is not None:
            return f"district:{district_code}"
        return f"commune:{commune_code}"
    if not recorded_before:
        return f"commune:{commune_code}"
    carried = new_commune(commune_code)
    return f"commune:{carried}" if carried is not None else f"old_commune:{commune_code}"
