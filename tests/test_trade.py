"""The trade service on the real broker and database, fed with registry's and evaluation's
contract events as they publish them: listings follow certificates (suspended on revocation or
expiry with the reason, restored on a new certificate), applications to an OCOP-only fair are
decided on eligibility by date and capacity, the 4xx cases answer with the field and reason,
commands are answered on the replies topic, and a malformed certificate event goes to
``ocop.trade.dlq.v1``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from ocop_contracts import topics
from ocop_contracts.commands import trade as tcmd
from ocop_contracts.events import (
    CertificateExpired,
    CertificateRevoked,
    LegalForm,
    ProductCertified,
    ProductRegistered,
    RevocationGround,
)
from ocop_contracts.events.evaluation import Level
from ocop_runtime.auth import Role
from ocop_runtime.testing import running, wait_until
from ocop_trade.app import create_app as create_trade
from ocop_trade.handlers import COMMAND_ROLES
from ocop_trade.settings import TradeSettings
from tests.commands import send_command
from tests.flow import envelope_headers, header, records_on, send_event, send_events, send_raw

TODAY = date.today()


def trade_app(make_settings: Any, **overrides: Any) -> Any:
    return create_trade(make_settings(TradeSettings, **overrides))


def registered(product_id: UUID, producer_id: UUID, name: str = "Gốm men lam") -> ProductRegistered:
    return ProductRegistered(
        product_id=product_id,
        producer_id=producer_id,
        producer_legal_form=LegalForm.COOPERATIVE,
        producer_name="HTX Gốm Bát Tràng",
        name=name,
        public_code="01-00550-0001-2021",
        lookup_url="https://ocop.hanoi.gov.vn/p/01-00550-0001-2021",
        classification="148",
        product_set="handicraft.ceramics",
        sector="handicraft",
        statistics_sector="handicraft",
        commune_code="00550",
        district_code="018",
        registered_on=date(2021, 1, 5),
        registered_at=datetime.now(UTC),
    )


def certified(
    product_id: UUID,
    *,
    star: int = 4,
    valid_from: date | None = None,
    valid_until: date | None = None,
    certificate_id: UUID | None = None,
) -> ProductCertified:
    start = valid_from or TODAY - timedelta(days=400)
    return ProductCertified(
        certificate_id=certificate_id or uuid4(),
        certificate_number=f"{start.year}/{uuid4().hex[:6]}",
        product_id=product_id,
        star=star,
        score=75.0,
        level=Level.CITY,
        decision_number="1147/QĐ-UBND",
        decision_date=start,
        valid_from=start,
        valid_until=valid_until or start + timedelta(days=3 * 365),
        rulebook="148",
        issued_at=datetime.now(UTC),
    )


def revoked(c: ProductCertified, on: date = TODAY) -> CertificateRevoked:
    return CertificateRevoked(
        certificate_id=c.certificate_id,
        product_id=c.product_id,
        grounds=[RevocationGround.FOOD_SAFETY_BREACH],
        decision_number="120/QĐ-UBND",
        decision_date=on,
        revoked_on=on,
    )


async def open_outlet(client: Any, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Điểm giới thiệu và bán sản phẩm OCOP Bát Tràng",
        "operator": "HTX Gốm Bát Tràng",
        "location_type": "craft_village",
        "unit_code": "00550",
        "district_code": "018",
        "opened_on": "2020-05-26",
        **fields,
    }
    response = await client.post("/outlets", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def holds_certificate(client: Any, outlet_id: str, product_id: UUID) -> dict[str, Any]:
    """List ``product_id`` at the outlet once trade has its certificate (events are async)."""

    async def listed() -> dict[str, Any] | None:
        r = await client.post(
            f"/outlets/{outlet_id}/listings", json={"basis": "ocop", "product_id": str(product_id)}
        )
        return dict(r.json()) if r.status_code == 201 else None

    return await wait_until(listed, what=f"trade to list {product_id} (its certificate copy)")


async def listing_in(client: Any, listing_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        shown = (await client.get(f"/listings/{listing_id}")).json()
        return dict(shown) if shown["status"] == status else None

    return await wait_until(probe, what=f"listing {listing_id} {status}")


async def listing_named(client: Any, listing_id: str, name: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        shown = (await client.get(f"/listings/{listing_id}")).json()
        return dict(shown) if shown["goods_name"] == name else None

    return await wait_until(probe, what=f"listing {listing_id} named {name}")


async def test_a_product_listed_before_its_registration_arrived_takes_its_name_and_producer(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    producer, product, named_product = uuid4(), uuid4(), uuid4()
    async with running(trade_app(make_settings)) as trade:
        # Only the certificates first: trade knows the products by id alone.
        await send_events(kafka_bootstrap, [certified(product), certified(named_product)])
        outlet = await open_outlet(trade)
        listing = await holds_certificate(trade, outlet["id"], product)
        assert listing["goods_name"] == f"product {product}" and listing["producer_id"] is None
        officer_named = await trade.post(
            f"/outlets/{outlet['id']}/listings",
            json={"basis": "ocop", "product_id": str(named_product), "goods_name": "Gốm quà tặng"},
        )
        assert officer_named.status_code == 201, officer_named.text

        await send_events(
            kafka_bootstrap,
            [registered(product, producer), registered(named_product, producer, "Bình gốm")],
        )
        named = await listing_named(trade, listing["id"], "Gốm men lam")
        assert named["producer_id"] == str(producer) and named["status"] == "live"

        async def producer_filled() -> dict[str, Any] | None:
            shown = (await trade.get(f"/listings/{officer_named.json()['id']}")).json()
            return dict(shown) if shown["producer_id"] == str(producer) else None

        kept = await wait_until(producer_filled, what="the officer-named listing's producer")
        assert kept["goods_name"] == "Gốm quà tặng"  # the officer's name is kept


def events_named(name: str) -> Any:
    return lambda r: (header(r, "ce_type") or "").endswith(f".{name}.v1")


async def test_a_listing_is_suspended_on_revocation_and_expiry_and_restored_by_a_new_certificate(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    producer, product, other = uuid4(), uuid4(), uuid4()
    first = certified(product)
    async with running(trade_app(make_settings)) as trade:
        await send_events(
            kafka_bootstrap,
            [registered(product, producer), first, registered(other, producer, "Bình hút lộc")],
        )
        outlet = await open_outlet(trade)
        listing = await holds_certificate(trade, outlet["id"], product)
        assert (listing["status"], listing["star"], listing["certificate_id"]) == (
            "live",
            4,
            str(first.certificate_id),
        )
        # The product's registration and its certificate come on two topics, in either order.
        named = await listing_named(trade, listing["id"], "Gốm men lam")
        assert named["producer_id"] == str(producer)
        refused = await trade.post(
            f"/outlets/{outlet['id']}/listings", json={"basis": "ocop", "product_id": str(other)}
        )
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
            "body",
            "product_id",
        ]
        assert "no live OCOP certificate" in refused.text
        specialty = await trade.post(
            f"/outlets/{outlet['id']}/listings",
            json={
                "basis": "local_specialty",
                "goods_name": "Bánh cốm Vòng",
                "producer_id": str(producer),
            },
        )
        assert specialty.status_code == 201 and specialty.json()["certificate_id"] is None
        keep = ("name", "operator", "location_type", "unit_code", "district_code")
        change = {k: outlet[k] for k in keep}
        moved = await trade.put(
            f"/outlets/{outlet['id']}",
            json={**change, "opened_on": outlet["opened_on"], "address": "Xóm 3, Bát Tràng"},
        )
        assert moved.status_code == 200 and moved.json()["address"] == "Xóm 3, Bát Tràng"
        late = await trade.put(
            f"/outlets/{outlet['id']}", json={**change, "opened_on": "2100-01-01"}
        )
        assert late.status_code == 422 and late.json()["detail"][0]["loc"][1] == "opened_on"

        await send_event(kafka_bootstrap, revoked(first))
        suspended = await listing_in(trade, listing["id"], "suspended")
        assert suspended["suspension_reason"] == "certificate_revoked"
        assert "120/QĐ-UBND" in suspended["suspension_detail"]
        assert (await trade.get(f"/listings/{specialty.json()['id']}")).json()["status"] == "live"
        too_early = await trade.post(f"/listings/{listing['id']}/restoration")
        assert too_early.status_code == 422 and "still holds no live" in too_early.text

        second = certified(product, star=5, valid_from=TODAY)
        await send_event(kafka_bootstrap, second)
        restored = await listing_in(trade, listing["id"], "live")
        assert (restored["star"], restored["certificate_id"]) == (5, str(second.certificate_id))

        await send_event(
            kafka_bootstrap,
            CertificateExpired(
                certificate_id=second.certificate_id, product_id=product, expired_on=TODAY
            ),
        )
        expired = await listing_in(trade, listing["id"], "suspended")
        assert expired["suspension_reason"] == "certificate_expired"
        by_status = (await trade.get("/listings", params={"status": "suspended"})).json()
        assert [x["id"] for x in by_status["items"]] == [listing["id"]] and by_status["total"] == 1

        async def published() -> list[Any] | None:
            found = await records_on(
                kafka_bootstrap, topics.TRADE_LISTINGS, lambda r: r.key == outlet["id"].encode()
            )
            names = [(header(r, "ce_type") or "").split(".")[-2] for r in found]
            return found if names.count("ListingSuspended") == 2 else None

        records = await wait_until(published, what="the listing events on Kafka")
        names = [(header(r, "ce_type") or "").split(".")[-2] for r in records]
        assert names == [
            "OutletOpened",
            "ProductListed",
            "ProductListed",
            "OutletOpened",
            "ListingSuspended",
            "ListingRestored",
            "ListingSuspended",
        ]
        reasons = [json.loads(r.value).get("reason") for r in records]
        assert reasons[4] == "certificate_revoked" and reasons[6] == "certificate_expired"


async def test_an_ocop_only_fair_decides_by_certificate_dates_and_capacity_with_clear_4xx(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    producer, stranger = uuid4(), uuid4()
    good, lapsing, uncertified = uuid4(), uuid4(), uuid4()
    start = TODAY + timedelta(days=30)
    copies = [
        registered(good, producer),
        registered(lapsing, stranger, "Chén tống"),
        registered(uncertified, stranger, "Lọ hoa"),
        certified(good),
        # Ends on the fair's second day: not live on every day of it.
        certified(lapsing, valid_until=start + timedelta(days=1)),
    ]
    async with running(trade_app(make_settings)) as trade:
        await send_events(kafka_bootstrap, copies)
        outlet = await open_outlet(trade)
        for product in (good, lapsing):  # trade holds both certificates from here on
            await holds_certificate(trade, outlet["id"], product)
        backwards = await trade.post(
            "/events", json=_fair(start, start - timedelta(days=1), capacity=3)
        )
        assert backwards.status_code == 422
        assert backwards.json()["detail"][0]["loc"] == ["body", "ends_on"]
        assert "out of order" in backwards.text
        created = await trade.post(
            "/events", json=_fair(start, start + timedelta(days=6), capacity=3)
        )
        assert created.status_code == 201, created.text
        fair = created.json()
        assert fair["status"] == "planned"
        early = await trade.post(
            f"/events/{fair['id']}/participations",
            json={"producer_id": str(producer), "product_ids": [str(good)]},
        )
        assert early.status_code == 422 and "registration is open" in early.text
        wrong_step = await trade.post(f"/events/{fair['id']}/closure")
        assert wrong_step.status_code == 422
        assert wrong_step.json()["detail"][0]["loc"][1] == "status"
        opened = await trade.post(f"/events/{fair['id']}/registration")
        assert opened.json()["status"] == "registration_open"

        taking = await trade.post(
            f"/events/{fair['id']}/participations",
            json={"producer_id": str(producer), "product_ids": [str(good)], "stalls": 2},
        )
        assert taking.status_code == 201, taking.text
        assert taking.json()["status"] == "accepted"
        again = await trade.post(
            f"/events/{fair['id']}/participations",
            json={"producer_id": str(producer), "product_ids": [str(good)]},
        )
        assert again.status_code == 409
        assert again.json()["detail"][0]["loc"] == ["body", "producer_id"]

        other = uuid4()
        refused = await trade.post(
            f"/events/{fair['id']}/participations",
            json={
                "participation_id": str(other),
                "producer_id": str(stranger),
                "product_ids": [str(good), str(uncertified), str(lapsing)],
                "stalls": 2,
            },
        )
        assert refused.status_code == 422, refused.text
        problems = refused.json()["detail"]
        fields = [p["loc"][1] for p in problems]
        assert fields == ["product_ids", "product_ids", "product_ids", "stalls"]
        assert "another producer's" in problems[0]["msg"]
        assert str(uncertified) in problems[1]["msg"] and str(lapsing) in problems[2]["msg"]
        assert all("no live OCOP certificate on every day" in p["msg"] for p in problems[1:3])
        assert "capacity exceeded" in problems[3]["msg"]
        kept = (await trade.get(f"/participations/{other}")).json()
        assert kept["status"] == "refused" and len(kept["reasons"]) == 4

        shown = (await trade.get(f"/events/{fair['id']}")).json()
        assert (shown["participants"], shown["stalls_taken"]) == (1, 2)
        lists = (
            await trade.get("/participations", params={"event_id": fair["id"], "status": "refused"})
        ).json()
        assert [p["id"] for p in lists["items"]] == [str(other)]
        by_product = (await trade.get("/events", params={"product_id": str(good)})).json()
        assert [e["id"] for e in by_product["items"]] == [fair["id"]]

        outcome = {
            "event_id": fair["id"],
            "producer_id": str(stranger),
            "period_start": start.isoformat(),
            "period_end": (start + timedelta(days=6)).isoformat(),
            "sales_vnd": 1_000_000,
        }
        not_yet = await trade.post("/outcomes", json={**outcome, "producer_id": str(producer)})
        assert not_yet.status_code == 422 and "once it has run" in not_yet.text
        await trade.post(f"/events/{fair['id']}/start")
        nobody = await trade.post("/outcomes", json=outcome)
        assert nobody.status_code == 422 and nobody.json()["detail"][0]["loc"] == [
            "body",
            "producer_id",
        ]
        assert "did not take part" in nobody.text
        recorded = await trade.post(
            "/outcomes",
            json={
                **outcome,
                "producer_id": str(producer),
                "product_id": str(good),
                "contracts_signed": 2,
                "contracts_value_vnd": 300_000_000,
            },
        )
        assert recorded.status_code == 201, recorded.text
        assert (await trade.post(f"/events/{fair['id']}/closure")).status_code == 200
        assert (await trade.post(f"/events/{fair['id']}/report")).status_code == 200

        closed = await trade.post(
            f"/outlets/{outlet['id']}/closure",
            json={"closed_on": "2021-12-31", "reason": "hết hợp đồng"},
        )
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        at_closed = await trade.post(
            f"/outlets/{outlet['id']}/listings",
            json={"basis": "local_specialty", "goods_name": "Bánh cốm"},
        )
        assert at_closed.status_code == 409 and "closed" in at_closed.text
        missing = await trade.get(f"/listings/{uuid4()}")
        assert missing.status_code == 404 and missing.json()["detail"][0]["loc"][1] == "listing_id"
        bad_cursor = await trade.get("/events", params={"cursor": "nonsense"})
        assert bad_cursor.status_code == 400

        async def reported() -> list[Any] | None:
            found = await records_on(
                kafka_bootstrap, topics.TRADE_PROMOTIONS, lambda r: r.key == fair["id"].encode()
            )
            return found if any(events_named("PromotionReported")(r) for r in found) else None

        records = await wait_until(reported, what="the event's life on Kafka")
        names = [(header(r, "ce_type") or "").split(".")[-2] for r in records]
        assert names == [
            "PromotionScheduled",
            "RegistrationOpened",
            "ParticipationAccepted",
            "ParticipationRefused",
            "PromotionStarted",
            "PromotionClosed",
            "PromotionReported",
        ]
        report = json.loads(records[-1].value)
        assert (report["sales_vnd"], report["contracts_signed"]) == (1_000_000, 2)


def _fair(start: date, end: date, *, capacity: int, others: bool = False) -> dict[str, Any]:
    return {
        "kind": "fair",
        "name": "Hội chợ OCOP Hà Nội",
        "organiser": "Sở Công Thương Hà Nội",
        "venue": "Cung Văn hóa Hữu nghị",
        "unit_code": "00004",
        "district_code": "001",
        "starts_on": start.isoformat(),
        "ends_on": end.isoformat(),
        "capacity": capacity,
        "admits_other_goods": others,
    }


async def test_commands_apply_to_an_event_and_record_an_outcome_with_answers_on_the_replies_topic(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    producer, product = uuid4(), uuid4()
    start = TODAY + timedelta(days=10)
    async with running(trade_app(make_settings)) as trade:
        await send_events(kafka_bootstrap, [registered(product, producer), certified(product)])
        await holds_certificate(trade, (await open_outlet(trade))["id"], product)
        fair = (await trade.post("/events", json=_fair(start, start, capacity=1))).json()
        await trade.post(f"/events/{fair['id']}/registration")
        refused_id = uuid4()
        stalls = tcmd.ApplyToPromotion(
            participation_id=refused_id,
            event_id=UUID(fair["id"]),
            producer_id=producer,
            product_ids=[product],
            stalls=2,
        )
        ok = tcmd.ApplyToPromotion(
            participation_id=uuid4(),
            event_id=UUID(fair["id"]),
            producer_id=producer,
            product_ids=[product],
        )
        nope = await send_command(kafka_bootstrap, stalls, role=Role.TRADE_OFFICER)
        agency = await send_command(kafka_bootstrap, ok, role=Role.AGENCY)
        replies = await _answers(kafka_bootstrap, {nope, agency})
        assert replies[nope]["errors"][0]["field"] == "stalls"
        assert "capacity exceeded" in replies[nope]["errors"][0]["reason"]
        assert replies[agency]["errors"][0]["reason"].startswith("forbidden:")
        kept = (await trade.get(f"/participations/{refused_id}")).json()
        assert kept["status"] == "refused"

        accepted = await send_command(kafka_bootstrap, ok, role=Role.TRADE_OFFICER)
        assert (await _answers(kafka_bootstrap, {accepted}))[accepted]["duplicate"] is False
        shown = (await trade.get(f"/participations/{ok.participation_id}")).json()
        assert shown["status"] == "accepted"
        await trade.post(f"/events/{fair['id']}/start")
        outcome = tcmd.RecordOutcome(
            outcome_id=uuid4(),
            event_id=UUID(fair["id"]),
            producer_id=producer,
            period_start=start,
            period_end=start,
            sales_vnd=5_500_000,
            buyers_met=12,
        )
        first = await send_command(kafka_bootstrap, outcome, role=Role.TRADE_OFFICER)
        second = await send_command(kafka_bootstrap, outcome, role=Role.CITY_OFFICE)
        answered = await _answers(kafka_bootstrap, {first, second})
        assert [answered[i]["duplicate"] for i in (first, second)] == [False, True]
        listed = (await trade.get("/outcomes", params={"event_id": fair["id"]})).json()
        assert [(o["sales_vnd"], o["buyers_met"]) for o in listed["items"]] == [(5_500_000, 12)]


async def _answers(bootstrap: str, ids: set[str]) -> dict[str, Any]:
    async def all_answered() -> dict[str, Any] | None:
        found = {
            (reply := json.loads(r.value))["command_id"]: reply
            for r in await records_on(bootstrap, topics.replies("trade"), lambda r: True)
            if json.loads(r.value).get("command_id") in ids
        }
        return found if set(found) == ids else None

    return await wait_until(all_answered, what="trade's answers", timeout_seconds=60)


async def test_a_malformed_certificate_event_goes_to_trades_dead_letters_and_the_next_is_applied(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    producer, product = uuid4(), uuid4()
    good = certified(product)
    broken = good.model_dump(mode="json")
    broken["star"] = 9  # no such star
    bad_id = str(uuid4())
    async with running(trade_app(make_settings)) as trade:
        await send_event(kafka_bootstrap, registered(product, producer))
        await send_raw(
            kafka_bootstrap,
            topics.EVALUATION_CERTIFICATES,
            key=str(product).encode(),
            value=json.dumps(broken).encode(),
            headers=envelope_headers(good, ce_id=bad_id),
        )
        await send_raw(
            kafka_bootstrap,
            topics.EVALUATION_CERTIFICATES,
            key=str(product).encode(),
            value=b"{not json",
            headers=envelope_headers(good, ce_id=str(uuid4())),
        )
        await send_event(kafka_bootstrap, good)
        outlet = await open_outlet(trade)
        listing = await holds_certificate(trade, outlet["id"], product)
        assert listing["certificate_id"] == str(good.certificate_id)

        async def dead() -> list[Any] | None:
            found = await records_on(
                kafka_bootstrap,
                topics.dlq("trade"),
                lambda r: header(r, "ocop_dlq_consumer") == "trade",
            )
            return found if len(found) >= 2 else None

        letters = await wait_until(dead, what="two dead letters on ocop.trade.dlq.v1")
        by_id = {header(r, "ce_id"): r for r in letters}
        assert "star" in (header(by_id[bad_id], "ocop_dlq_reason") or "")
        assert all("certificates" in (header(r, "ocop_dlq_topic") or "") for r in letters)


def test_the_command_roles_are_those_of_the_http_routes_and_the_docs() -> None:
    trade_roles = {Role.CITY_OFFICE, Role.TRADE_OFFICER}
    assert {c: set(r) for c, r in COMMAND_ROLES.items()} == {
        tcmd.ApplyToPromotion: trade_roles,
        tcmd.RecordOutcome: trade_roles,
    }
    doc = (Path(__file__).resolve().parents[1] / "docs" / "SECURITY.md").read_text()
    for command in COMMAND_ROLES:
        assert (
            f"| trade | `{command.EVENT_NAME}` | city_office, trade_officer | {command.TOPIC} |"
            in doc
        )
