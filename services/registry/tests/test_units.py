"""Dated administrative units: the shipped data, the validity rule, and the HTTP view."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ocop_registry.app import create_app
from ocop_registry.domain import RuleViolation, UnitVersion, check_commune_valid_on
from ocop_registry.settings import RegistrySettings
from ocop_registry.units import load_dataset
from ocop_runtime.testing import running

TRUC_BACH = UnitVersion("00004", "Trúc Bạch", date(2018, 1, 1), date(2025, 6, 30), ("00004",))
BA_DINH = UnitVersion("00004", "Ba Đình", date(2025, 7, 1), None)


def test_shipped_data_has_30_districts_579_then_526_old_and_126_new_communes() -> None:
    units, successions = load_dataset()
    districts = [u for u in units if u.level == "district"]
    communes = [u for u in units if u.level == "commune"]
    old = [u for u in communes if u.valid_to is not None]
    new = [u for u in communes if u.valid_to is None]
    assert len(districts) == 30
    assert sum(u.valid_on(date(2024, 6, 1)) for u in communes) == 579
    assert sum(u.valid_on(date(2025, 3, 1)) for u in communes) == 526
    assert len(new) == 126
    assert sorted({u.kind for u in districts}) == ["huyen", "quan", "thi_xa"]
    assert sum(u.kind == "phuong" for u in new) == 51
    assert {s.new.code for s in successions if s.new.valid_to is None} == {u.code for u in new}
    # Every unit that ended names where it went.
    assert {(s.old.code, s.old.valid_from) for s in successions} == {
        (u.code, u.valid_from) for u in old
    }


def test_a_reused_code_names_the_unit_valid_on_the_day() -> None:
    versions = [TRUC_BACH, BA_DINH]
    assert check_commune_valid_on("00004", date(2024, 5, 1), versions).name == "Trúc Bạch"
    assert check_commune_valid_on("00004", date(2025, 7, 1), versions).name == "Ba Đình"


def test_a_unit_no_longer_valid_is_refused_naming_its_successors() -> None:
    dong_lac = UnitVersion("10105", "Đồng Lạc", date(2019, 1, 1), date(2025, 6, 30), ("10096",))
    with pytest.raises(RuleViolation) as refused:
        check_commune_valid_on("10105", date(2026, 1, 1), [dong_lac])
    assert refused.value.field == "commune_code"
    assert "not a valid unit on 2026-01-01" in refused.value.reason
    assert "10096" in refused.value.reason


def test_an_unknown_code_is_refused() -> None:
    with pytest.raises(RuleViolation, match="not a known Hanoi commune"):
        check_commune_valid_on("99999", date(2026, 1, 1), [])


async def test_units_are_listed_as_they_were_on_a_day_and_producers_need_a_current_unit(
    make_settings: Any,
) -> None:
    settings = make_settings(RegistrySettings)
    async with running(create_app(settings)) as registry:
        today = (await registry.get("/units", params={"level": "commune", "limit": 1000})).json()
        assert len(today["items"]) == 126
        before = await registry.get(
            "/units", params={"level": "district", "on": "2024-06-01", "limit": 1000}
        )
        assert [u["name"] for u in before.json()["items"]][:2] == ["Ba Đình", "Hoàn Kiếm"]
        assert len(before.json()["items"]) == 30
        page = (await registry.get("/units", params={"on": "2024-06-01", "limit": 100})).json()
        rest = (
            await registry.get(
                "/units", params={"on": "2024-06-01", "limit": 1000, "cursor": page["next_cursor"]}
            )
        ).json()
        assert len(page["items"]) + len(rest["items"]) == 30 + 579

        ok = await registry.post(
            "/producers",
            json={
                "name": "HTX Ba Đình",
                "legal_form": "cooperative",
                "commune_code": "00004",
                "registration_number": "0101234567",
            },
        )
        assert ok.status_code == 201, ok.text
        old = await registry.post(
            "/producers",
            json={
                "name": "HTX Đồng Lạc",
                "legal_form": "cooperative",
                "commune_code": "10105",
                "registration_number": "0107654321",
            },
        )
        assert old.status_code == 422
        [error] = old.json()["detail"]
        assert error["loc"] == ["body", "commune_code"]
        assert "Đồng Lạc" in error["msg"] and "since then it is part of" in error["msg"]
        moved = await registry.patch(
            f"/producers/{ok.json()['id']}", json={"commune_code": "99999"}
        )
        assert moved.status_code == 422
        assert "not a known Hanoi commune" in moved.json()["detail"][0]["msg"]

    # Loading again at the next start-up changes nothing.
    async with running(create_app(settings)) as registry:
        again = (await registry.get("/units", params={"level": "commune", "limit": 1000})).json()
        assert len(again["items"]) == 126
