"""Registry, evaluation and trade together on the real broker and database: a product certified
in evaluation is accepted at a fair and listed at an outlet; its certificate revoked, the listing
is suspended within seconds and the fair reports the product; certified again, the listing is
back on sale. And the seed figures loaded through trade's API: 13 points of sale opened in 2020,
14 in 8 districts at the end of 2020, 55 at the end of 2021, four product weeks in 2021 and a
2022 product week of 100 stalls; the reports give those counts back for their dates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from ocop_contracts import topics
from ocop_runtime.auth import Role
from ocop_runtime.testing import bearer, running, wait_until
from tests.flow import evaluation_app, records_on, registry_app, send_events
from tests.test_evaluation_flow import MEMBERS, council, entered, only_ours, sheet_points, submit
from tests.test_registry import producer, product
from tests.test_trade import certified, events_named, open_outlet, registered, trade_app


async def _certify(
    evaluation: Any, registry: Any, item: dict[str, Any], today: str, number: str
) -> str:
    """A city round of its own, a three-member council scoring 80%, the decision: 4★. Returns
    the certificate id."""
    opened = await evaluation.post(
        "/rounds", json={"year": int(today[:4]), "level": "city", "name": f"Thành phố {number}"}
    )
    assert opened.status_code == 201, opened.text
    round_id = opened.json()["id"]
    await council(evaluation, round_id)
    app_id = await submit(registry, item["id"], 82)
    await entered(evaluation, round_id, app_id)
    await only_ours(evaluation, round_id, app_id)
    points = sheet_points(item["product_set"], date.fromisoformat(today), Decimal("0.8"))
    for member in MEMBERS:
        handed = await evaluation.put(
            f"/rounds/{round_id}/sheets/{app_id}",
            json={"points": points},
            headers=bearer(Role.COUNCIL_MEMBER, subject=member),
        )
        assert handed.status_code == 200, handed.text
    assert (await evaluation.post(f"/rounds/{round_id}/closure", json={})).status_code == 200
    decided = await evaluation.post(
        f"/rounds/{round_id}/decision", json={"decision_number": number, "decision_date": today}
    )
    assert decided.status_code == 200, decided.text
    live = [
        c
        for c in (await evaluation.get("/certificates", params={"product_id": item["id"]})).json()[
            "items"
        ]
        if c["state"] == "live"
    ]
    assert len(live) == 1
    return str(live[0]["id"])


async def test_a_certified_product_at_a_fair_and_an_outlet_is_suspended_on_revocation_and_back_when_recertified(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    async with (
        running(registry_app(make_settings)) as registry,
        running(evaluation_app(make_settings)) as evaluation,
        running(trade_app(make_settings), role=Role.TRADE_OFFICER) as trade,
    ):
        owner = await producer(registry)
        item = await product(registry, owner["id"])
        today = (await evaluation.get("/clock")).json()["now"][:10]
        day = date.fromisoformat(today)
        certificate_id = await _certify(evaluation, registry, item, today, "1147/QĐ-UBND")

        fair = await trade.post(
            "/events",
            json={
                "kind": "fair",
                "name": "Hội chợ sản phẩm OCOP Hà Nội",
                "organiser": "Sở Công Thương Hà Nội",
                "venue": "Cung Văn hóa Hữu nghị Việt Xô",
                "unit_code": "00004",
                "starts_on": today,
                "ends_on": (day + timedelta(days=3)).isoformat(),
                "capacity": 80,
            },
        )
        assert fair.status_code == 201, fair.text
        event_id = fair.json()["id"]
        await trade.post(f"/events/{event_id}/registration")
        outlet = await open_outlet(trade, opened_on=today)

        async def listed() -> dict[str, Any] | None:
            r = await trade.post(
                f"/outlets/{outlet['id']}/listings",
                json={"basis": "ocop", "product_id": item["id"]},
            )
            return dict(r.json()) if r.status_code == 201 else None

        listing = await wait_until(listed, timeout_seconds=60, what="trade to hold the certificate")
        assert (listing["star"], listing["certificate_id"]) == (4, certificate_id)
        assert listing["goods_name"] == item["name"] and listing["producer_id"] == owner["id"]
        taking = await trade.post(
            f"/events/{event_id}/participations",
            json={"producer_id": owner["id"], "product_ids": [item["id"]], "stalls": 2},
        )
        assert taking.status_code == 201 and taking.json()["status"] == "accepted", taking.text

        revoked = await evaluation.post(
            f"/certificates/{certificate_id}/revocation",
            json={
                "grounds": ["food_safety_breach"],
                "decision_number": "120/QĐ-UBND",
                "decision_date": today,
            },
        )
        assert revoked.status_code == 200, revoked.text

        async def suspended() -> dict[str, Any] | None:
            shown = (await trade.get(f"/listings/{listing['id']}")).json()
            return dict(shown) if shown["status"] == "suspended" else None

        off_sale = await wait_until(
            suspended,
            timeout_seconds=10,
            interval=0.05,
            what="the listing suspended within seconds",
        )
        assert off_sale["suspension_reason"] == "certificate_revoked"
        assert "120/QĐ-UBND" in off_sale["suspension_detail"]
        assert "food_safety_breach" in off_sale["suspension_detail"]
        shown = (await trade.get(f"/events/{event_id}")).json()
        assert shown["attention"] == [
            {"participation_id": taking.json()["id"], "product_ids": [item["id"]]}
        ]
        copy = (await trade.get(f"/products/{item['id']}")).json()
        assert (copy["live_certificate"], copy["why_not_live"]) == (None, "certificate_revoked")
        suspensions = await records_on(
            kafka_bootstrap, topics.TRADE_LISTINGS, events_named("ListingSuspended")
        )
        assert [r.key for r in suspensions] == [outlet["id"].encode()]

        renewed = await _certify(evaluation, registry, item, today, "1300/QĐ-UBND")
        assert renewed != certificate_id

        async def restored() -> dict[str, Any] | None:
            shown = (await trade.get(f"/listings/{listing['id']}")).json()
            return dict(shown) if shown["status"] == "live" else None

        back = await wait_until(restored, timeout_seconds=60, what="the listing back on sale")
        assert (back["certificate_id"], back["star"], back["suspension_reason"]) == (
            renewed,
            4,
            None,
        )
        assert (await trade.get(f"/events/{event_id}")).json()["attention"] == []
        restorations = await records_on(
            kafka_bootstrap, topics.TRADE_LISTINGS, events_named("ListingRestored")
        )
        assert [r.key for r in restorations] == [outlet["id"].encode()]


# ---------------------------------------------------------------- the seed figures

# 14 points of sale open at the end of 2020 in 8 districts: one from 2019 (the pilot at
# Vạn Phúc) and the 13 opened in 2020; 41 more in 2021 make 55.
DISTRICTS_2020 = ["268", "271", "269", "007", "004", "001", "275", "250"]  # 8 pre-2025 districts
OTHER_DISTRICTS = ["003", "005", "006", "008", "009", "016", "017", "018", "019", "020", "276"]
TYPES = ["craft_village", "tourist_site_hotel", "mall_market", "commercial_centre", "post_office"]


def _outlet(n: int, opened_on: date, district: str) -> dict[str, Any]:
    return {
        "name": f"Điểm giới thiệu và bán sản phẩm OCOP số {n}",
        "operator": f"Đơn vị vận hành {n}",
        "location_type": TYPES[n % len(TYPES)],
        "unit_code": district,
        "district_code": district,
        "opened_on": opened_on.isoformat(),
    }


def _week(n: int, start: date, capacity: int) -> dict[str, Any]:
    return {
        "kind": "product_week",
        "name": f"Tuần hàng OCOP Hà Nội số {n}",
        "organiser": "Sở Công Thương Hà Nội",
        "venue": "Trung tâm Triển lãm Giảng Võ",
        "unit_code": "001",
        "district_code": "001",
        "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=6)).isoformat(),
        "capacity": capacity,
    }


async def test_the_seed_figures_loaded_through_the_api_come_back_in_the_reports(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    producers = [uuid4() for _ in range(101)]
    products = [uuid4() for _ in producers]
    copies: list[Any] = []
    for owner, item in zip(producers, products, strict=True):
        copies += [
            registered(item, owner, "Sản phẩm OCOP"),
            certified(item, valid_from=date(2021, 6, 1), valid_until=date(2024, 5, 31)),
        ]
    async with running(trade_app(make_settings), role=Role.TRADE_OFFICER) as trade:
        await send_events(kafka_bootstrap, copies)
        pilot = await trade.post("/outlets", json=_outlet(0, date(2019, 11, 20), DISTRICTS_2020[0]))
        assert pilot.status_code == 201, pilot.text
        for n in range(1, 14):
            opened = date(2020, 1, 1) + timedelta(days=25 * n)
            r = await trade.post("/outlets", json=_outlet(n, opened, DISTRICTS_2020[n % 8]))
            assert r.status_code == 201, r.text
        for n in range(14, 55):
            opened = date(2021, 1, 10) + timedelta(days=8 * (n - 14))
            r = await trade.post("/outlets", json=_outlet(n, opened, OTHER_DISTRICTS[n % 11]))
            assert r.status_code == 201, r.text

        for n, month in enumerate((3, 6, 9, 11), 1):  # four product weeks in 2021
            r = await trade.post("/events", json=_week(n, date(2021, month, 10), 60))
            assert r.status_code == 201, r.text
        week = (await trade.post("/events", json=_week(5, date(2022, 10, 10), 100))).json()
        assert week["capacity"] == 100
        await trade.post(f"/events/{week['id']}/registration")

        for item in products:

            async def certified_here(item: UUID = item) -> bool:
                r = await trade.get(f"/products/{item}")
                return r.status_code == 200 and r.json()["live_certificate"] is not None

            await wait_until(certified_here, timeout_seconds=60, what=f"trade to hold {item}")
        on_sale = await trade.post(
            f"/outlets/{pilot.json()['id']}/listings",
            json={"basis": "ocop", "product_id": str(products[-1]), "listed_on": "2022-01-05"},
        )
        assert on_sale.status_code == 201, on_sale.text
        for owner, item in zip(producers[:100], products[:100], strict=True):
            r = await trade.post(
                f"/events/{week['id']}/participations",
                json={"producer_id": str(owner), "product_ids": [str(item)]},
            )
            assert r.status_code == 201, r.text
        full = await trade.post(
            f"/events/{week['id']}/participations",
            json={"producer_id": str(producers[100]), "product_ids": [str(products[100])]},
        )
        assert full.status_code == 422 and "0 of 100 are left" in full.text

        end_2020 = (
            await trade.get(
                "/reports/outlets",
                params={"on": "2020-12-31", "from_date": "2020-01-01", "to_date": "2020-12-31"},
            )
        ).json()
        assert (end_2020["opened_between"], end_2020["open"], end_2020["districts"]) == (13, 14, 8)
        assert len(end_2020["outlets"]) == 14
        end_2021 = (await trade.get("/reports/outlets", params={"on": "2021-12-31"})).json()
        assert end_2021["open"] == 55
        assert sum(end_2021["by_location_type"].values()) == 55
        opened_2021 = await trade.get(
            "/outlets", params={"from_date": "2021-01-01", "to_date": "2021-12-31", "limit": 10}
        )
        assert opened_2021.json()["total"] == 41 and len(opened_2021.json()["items"]) == 10

        weeks_2021 = (
            await trade.get(
                "/reports/promotions", params={"from_date": "2021-01-01", "to_date": "2021-12-31"}
            )
        ).json()
        assert [(g["grp"], g["events"]) for g in weeks_2021["by_kind"]] == [("product_week", 4)]
        in_2022 = (
            await trade.get(
                "/reports/promotions", params={"from_date": "2022-01-01", "to_date": "2022-12-31"}
            )
        ).json()
        [product_week] = in_2022["by_kind"]
        assert (
            product_week["grp"],
            product_week["events"],
            product_week["capacity"],
            product_week["stalls_taken"],
            product_week["producers"],
            product_week["products"],
        ) == ("product_week", 1, 100, 100, 100, 100)
        assert [(g["grp"], g["events"]) for g in in_2022["by_unit"]] == [("001", 1)]
        goods = (await trade.get("/reports/outlets", params={"on": "2022-06-30"})).json()
        assert goods["by_star"] == {"4": 1} and goods["by_basis"] == {"ocop": 1}
        backwards = await trade.get(
            "/reports/promotions", params={"from_date": "2022-12-31", "to_date": "2022-01-01"}
        )
        assert backwards.status_code == 422 and "out of order" in backwards.text

        async def all_published() -> list[Any] | None:
            taken = await records_on(
                kafka_bootstrap,
                topics.TRADE_PROMOTIONS,
                lambda r: r.key == week["id"].encode() and events_named("ParticipationAccepted")(r),
            )
            return taken if len(taken) >= 100 else None

        taken = await wait_until(all_published, what="100 acceptances on Kafka")
        assert len(taken) == 100
