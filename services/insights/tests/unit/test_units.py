"""Old communes carried over to the new ones for the statistics by unit."""

from __future__ import annotations

import csv
from pathlib import Path

from ocop_insights.domain.units import DATA, new_commune, unit_key


def _codes(name: str) -> set[str]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return {r["code"] for r in csv.DictReader(f)}


def test_every_old_commune_is_carried_over_to_a_commune_of_the_new_list() -> None:
    new = _codes("communes_2025.csv")
    old = _codes("communes_pre2025.csv") | _codes("communes_merged_2025.csv")
    assert {code for code in old if new_commune(code) not in new} == set()


def test_a_split_commune_goes_to_the_new_one_that_took_its_name() -> None:
    # Trúc Bạch (00004) and Quán Thánh (00013) are in the ward Ba Đình (00004); a commune
    # merged on 1 January 2025 follows its successor.
    assert new_commune("00004") == "00004"
    assert new_commune("00013") == "00004"
    with (DATA / "communes_merged_2025.csv").open(encoding="utf-8", newline="") as f:
        merged = next(csv.DictReader(f))
    assert new_commune(merged["code"]) == new_commune(merged["successor_code"])


def test_the_key_is_the_tier_of_the_day() -> None:
    assert unit_key("district", "00013", "001", True) == "district:001"
    assert unit_key("commune", "00013", "001", True) == "commune:00004"
    assert unit_key("commune", "00013", None, False) == "commune:00013"
    assert unit_key("commune", "99999", None, True) == "old_commune:99999"
    assert unit_key("commune", None, None, True) is None


def test_the_data_is_the_registrys() -> None:
    registry = Path(__file__).resolve().parents[3] / "registry" / "data" / "admin_units"
    for name in ("mapping_2025.csv", "communes_merged_2025.csv"):
        assert (DATA / name).read_bytes() == (registry / name).read_bytes(), name
