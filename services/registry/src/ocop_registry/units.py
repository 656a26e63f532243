"""Hanoi's administrative units as versioned data (``data/admin_units/``), pure: no I/O beyond
reading the shipped files.

Before 1 July 2025: 30 district-level units and their communes (the list of 4 January 2025,
526 units). From 1 July 2025: 126 communes and wards, the district tier abolished. Codes were
reused by the reorganisation, so a unit is identified by its code *and* its validity dates.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "admin_units"

# The pre-2025 records carry no start date of their own; they are valid "since before the
# programme's records", and the two-tier reorganisation took effect on 1 July 2025.
LEGACY_FROM = date(2019, 1, 1)
REORGANISED = date(2025, 7, 1)
LEGACY_TO = date(2025, 6, 30)


@dataclass(frozen=True, slots=True)
class AdminUnit:
    code: str
    valid_from: date
    valid_to: date | None
    level: str
    kind: str
    name: str
    parent_code: str | None = None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class Succession:
    old: AdminUnit
    new: AdminUnit


def _rows(name: str, directory: Path) -> list[dict[str, str]]:
    with (directory / name).open(encoding="utf-8", newline="") as f:
        return [
            {k: unicodedata.normalize("NFC", v.strip()) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def load_dataset(directory: Path = DATA) -> tuple[list[AdminUnit], list[Succession]]:
    districts = [
        AdminUnit(r["code"], LEGACY_FROM, LEGACY_TO, "district", r["kind"], r["name"])
        for r in _rows("districts_2019.csv", directory)
    ]
    old = [
        AdminUnit(
            r["code"], LEGACY_FROM, LEGACY_TO, "commune", r["kind"], r["name"], r["district_code"]
        )
        for r in _rows("communes_pre2025.csv", directory)
    ]
    new = [
        AdminUnit(r["code"], REORGANISED, None, "commune", r["kind"], r["name"])
        for r in _rows("communes_2025.csv", directory)
    ]
    old_by_code = {u.code: u for u in old}
    new_by_code = {u.code: u for u in new}
    successions = [
        Succession(old_by_code[r["old_code"]], new_by_code[r["new_code"]])
        for r in _rows("mapping_2025.csv", directory)
    ]
    return [*districts, *old, *new], successions


def commune_on(units: list[AdminUnit], code: str, day: date) -> AdminUnit | None:
    """The commune-level unit that ``code`` names on ``day``, if any."""
    return next(
        (u for u in units if u.level == "commune" and u.code == code and u.valid_on(day)), None
    )
