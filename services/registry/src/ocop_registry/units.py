"""Hanoi's administrative units as versioned data (``data/admin_units/``), pure: no I/O beyond
reading the shipped files.

From 2018 (the programme's first year) to 31 December 2024: 30 district-level units and 579
communes (the statistics office's list of 3 February 2021). On 1 January 2025, 53 of them were
merged into neighbours, 33 of which took new names (526 units, the list of 4 January 2025).
From 1 July 2025: 126 communes and wards, the district tier abolished. Codes were reused by the
reorganisations, so a unit is identified by its code *and* its validity dates; every unit that
ended names its successors. ``SOURCES.md`` there says what comes from which source and what is
modelled.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "admin_units"

# The oldest list carries no start date of its own: its units are taken as valid from the
# start of 2018, the programme's first year (modelled; no earlier list was read). The 2024
# mergers took effect on 1 January 2025, the two-tier reorganisation on 1 July 2025.
LEGACY_FROM = date(2018, 1, 1)
MERGED = date(2025, 1, 1)
REORGANISED = date(2025, 7, 1)
LEGACY_TO = date(2025, 6, 30)
BEFORE_MERGER = date(2024, 12, 31)


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
    renamed = {r["code"]: r for r in _rows("communes_renamed_2025.csv", directory)}
    merged = _rows("communes_merged_2025.csv", directory)
    old: list[AdminUnit] = []  # the versions valid until 30 June 2025
    earlier: list[AdminUnit] = []  # versions that ended on 31 December 2024
    successions: list[Succession] = []
    for r in _rows("communes_pre2025.csv", directory):
        code, kind, district = r["code"], r["kind"], r["district_code"]
        if code in renamed:
            before = AdminUnit(
                code,
                LEGACY_FROM,
                BEFORE_MERGER,
                "commune",
                kind,
                renamed[code]["name_until_2024"],
                district,
            )
            after = AdminUnit(code, MERGED, LEGACY_TO, "commune", kind, r["name"], district)
            earlier.append(before)
            old.append(after)
            successions.append(Succession(before, after))
        else:
            old.append(
                AdminUnit(code, LEGACY_FROM, LEGACY_TO, "commune", kind, r["name"], district)
            )
    old_by_code = {u.code: u for u in old}
    for r in merged:
        unit = AdminUnit(
            r["code"],
            LEGACY_FROM,
            BEFORE_MERGER,
            "commune",
            r["kind"],
            r["name"],
            r["district_code"],
        )
        earlier.append(unit)
        successions.append(Succession(unit, old_by_code[r["successor_code"]]))
    new = [
        AdminUnit(r["code"], REORGANISED, None, "commune", r["kind"], r["name"])
        for r in _rows("communes_2025.csv", directory)
    ]
    new_by_code = {u.code: u for u in new}
    successions += [
        Succession(old_by_code[r["old_code"]], new_by_code[r["new_code"]])
        for r in _rows("mapping_2025.csv", directory)
    ]
    return [*districts, *earlier, *old, *new], successions


def commune_on(units: list[AdminUnit], code: str, day: date) -> AdminUnit | None:
    """The commune-level unit that ``code`` names on ``day``, if any."""
    return next(
        (u for u in units if u.level == "commune" and u.code == code and u.valid_on(day)), None
    )
