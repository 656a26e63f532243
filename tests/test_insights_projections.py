"""Each insights projection from a list of events, through the batched consumer on a real
PostgreSQL schema: star classes, sectors, units at the date, cumulative vs valid, expiry,
rounds; out of order across topics and with duplicates."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from ocop_contracts import Event
from ocop_contracts.events import registry as reg
from ocop_contracts.events.evaluation import Level
from ocop_insights.app import MIGRATIONS
from ocop_insights.handlers import build_routes
from ocop_insights.store.statistics import compute_all
from ocop_runtime.batching import BatchConsumer
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.telemetry import Metrics
from ocop_runtime.testing import record_of
from tests.insights_events import (
    certified,
    nominated,
    producer,
    product,
    revoked,
    scored,
    submitted,
)

END_2021 = date(2021, 12, 31)


class Letters:
    """A producer that keeps the dead letters it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, **record: Any) -> None:
        self.sent.append({"topic": topic, **record})


@pytest.fixture
async def pool(database_url: str, unique: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"insights_{unique}"
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema, MIGRATIONS)
    finally:
        await conn.close()
    pool = await create_pool(database_url, schema, min_size=1, max_size=2)
    yield pool
    await pool.close()


class Model:
    """The read model fed batch by batch, as the service's consumer feeds it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.letters = Letters()
        self.consumer = BatchConsumer(
            build_routes(),
            consumer="insights",
            pool=pool,
            producer=self.letters,
            dlq_topic="ocop.insights.dlq.v1",
            metrics=Metrics("insights-test"),
            backoff_seconds=0.01,
            backoff_max_seconds=0.01,
        )
        self.offset = 0

    async def feed(self, events: Sequence[Event | Any], *, ce_ids: Sequence[str] = ()) -> Any:
        records = []
        for i, event in enumerate(events):
            self.offset += 1
            ce_id = ce_ids[i] if i < len(ce_ids) else None
            records.append(record_of(event, offset=self.offset, ce_id=ce_id))
        return await self.consumer.apply(records)

    async def stat(self, name: str, day: date) -> dict[str, dict[str, int]]:
        statistic = next(s for s in await compute_all(self.pool, day) if s.definition.name == name)
        return {r.key: r.values for r in statistic.rows}

    async def totals(self, name: str, day: date) -> dict[str, int]:
        statistic = next(s for s in await compute_all(self.pool, day) if s.definition.name == name)
        return statistic.totals


def _stars(rows: dict[str, dict[str, int]]) -> dict[str, int]:
    return {k: v["products"] for k, v in rows.items() if v["products"]}


async def test_products_by_star_counts_live_certificates_and_potential_five_star(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    p3, p4, pot, p5 = (uuid4() for _ in range(4))
    application = uuid4()
    await model.feed(
        [
            *(product(p, on=date(2020, 1, 1)) for p in (p3, p4, pot, p5)),
            certified(p3, 3, date(2021, 3, 1)),
            certified(p4, 4, date(2021, 3, 1)),
            certified(pot, 4, date(2021, 3, 1), application_id=application),
            nominated(pot, application, date(2021, 2, 20)),
            certified(p5, 5, date(2021, 9, 1), level=Level.CENTRAL),
        ]
    )

    assert _stars(await model.stat("products.by_star", END_2021)) == {
        "3": 1,
        "4": 1,
        "potential_5": 1,
        "5": 1,
    }
    # Before the decisions nothing was live; between them only the spring ones.
    assert _stars(await model.stat("products.by_star", date(2021, 2, 28))) == {}
    assert _stars(await model.stat("products.by_star", date(2021, 6, 30))) == {
        "3": 1,
        "4": 1,
        "potential_5": 1,
    }


async def test_a_certificate_before_its_product_and_duplicates_give_the_same_statistics(
    pool: asyncpg.Pool, database_url: str, unique: str
) -> None:
    products = [uuid4() for _ in range(6)]
    producers = [uuid4() for _ in range(3)]
    sectors = ["1048.food", "1048.drinks", "1048.souvenir"]
    events: list[Event] = [
        *(producer(p) for p in producers),
        *(
            product(
                p,
                producer_id=producers[i % 3],
                sector=sectors[i % 3],
                on=date(2020, 1, 1),
            )
            for i, p in enumerate(products)
        ),
        *(certified(p, 3 + (i % 2), date(2021, 5, 1)) for i, p in enumerate(products)),
    ]
    model = Model(pool)
    await model.feed(events)
    in_order = {s.definition.name: s.content() for s in await compute_all(pool, END_2021)}

    # Another schema, fed certificates first, then everything again in shuffled batches, each
    # record twice (same ce_id): the same statistics.
    other_schema = f"insights_{unique}_b"
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, other_schema, MIGRATIONS)
    finally:
        await conn.close()
    other = await create_pool(database_url, other_schema, min_size=1, max_size=2)
    try:
        replayed = Model(other)
        ids = [str(uuid4()) for _ in events]
        by_id = list(zip(events, ids, strict=True))
        certificates_first = sorted(by_id, key=lambda e: 0 if "Certified" in e[0].CE_TYPE else 1)
        outcomes = await replayed.feed(
            [e for e, _ in certificates_first], ce_ids=[i for _, i in certificates_first]
        )
        assert sum(n for (_, o), n in outcomes.items() if o == "processed") == len(events)
        shuffled = by_id * 2
        random.Random(7).shuffle(shuffled)
        outcomes = await replayed.feed([e for e, _ in shuffled], ce_ids=[i for _, i in shuffled])
        assert sum(n for (_, o), n in outcomes.items() if o == "duplicate") == 2 * len(events)
        out_of_order = {s.definition.name: s.content() for s in await compute_all(other, END_2021)}
    finally:
        await other.close()

    assert out_of_order == in_order
    sectors_seen = await model.stat("products.by_sector_1048", END_2021)
    assert {k: v["products"] for k, v in sectors_seen.items()} == {
        "1048.drinks": 2,
        "1048.food": 2,
        "1048.souvenir": 2,
    }
    assert (await model.totals("products.by_star", END_2021)) == {"products": 6, "producers": 3}


async def test_duplicates_inside_one_batch_count_once(pool: asyncpg.Pool) -> None:
    model = Model(pool)
    p = uuid4()
    event = certified(p, 4, date(2021, 5, 1))
    outcomes = await model.feed([product(p), event, event], ce_ids=["a", "b", "b"])
    assert outcomes[("ocop.evaluation.certificates.v1", "duplicate")] == 1
    assert _stars(await model.stat("products.by_star", END_2021)) == {"4": 1}


async def test_reevaluation_replaces_revocation_and_expiry_end_a_certificate(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    a, b, c = uuid4(), uuid4(), uuid4()
    first_a, first_b = uuid4(), uuid4()
    await model.feed(
        [
            product(a),
            product(b),
            product(c),
            certified(a, 3, date(2019, 12, 1), certificate_id=first_a),
            certified(b, 4, date(2019, 12, 1), certificate_id=first_b),
            certified(c, 3, date(2019, 12, 1)),  # valid until 30 Nov 2022
        ]
    )
    await model.feed(
        [
            certified(a, 4, date(2021, 6, 1), replaces=first_a),
            revoked(b, first_b, date(2021, 8, 1)),
        ]
    )

    assert _stars(await model.stat("products.by_star", date(2021, 5, 31))) == {"3": 2, "4": 1}
    assert _stars(await model.stat("products.by_star", END_2021)) == {"3": 1, "4": 1}
    assert _stars(await model.stat("products.by_star", date(2022, 12, 31))) == {"4": 1}
    recognition = await model.stat("products.recognition", date(2022, 12, 31))
    assert recognition["cumulative"]["products"] == 3
    assert recognition["valid"]["products"] == 1
    by_year = await model.stat("certificates.by_year", date(2022, 12, 31))
    assert by_year["2019"]["certificates"] == 3
    assert by_year["2019"]["new_products"] == 3
    assert by_year["2021"] == {"certificates": 1, "3": 0, "4": 1, "5": 0, "new_products": 0}


async def test_expiring_counts_live_certificates_ending_within_each_window(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    ends = {}
    for days_left in (10, 60, 150, 400):
        p = uuid4()
        # A certificate valid 3 years ending ``days_left`` days after 1 Jul 2024.
        day = date(2024, 7, 1)
        event = certified(p, 3, date(2021, 7, 1))
        event = event.model_copy(
            update={"valid_until": date.fromordinal(day.toordinal() + days_left)}
        )
        ends[days_left] = event
        await model.feed([product(p), event])

    expiring = await model.stat("certificates.expiring", date(2024, 7, 1))
    assert {k: v["certificates"] for k, v in expiring.items()} == {"30": 1, "90": 2, "180": 3}


async def test_products_by_unit_take_the_place_and_the_tier_of_the_day(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    p = uuid4()
    await model.feed(
        [
            product(p, commune="00004", district="001", on=date(2020, 1, 1)),
            product(p, commune="00008", district=None, on=date(2025, 7, 2), version=2),
            certified(p, 4, date(2024, 1, 10)),
        ]
    )
    before = await model.stat("products.by_unit", date(2025, 6, 30))
    after = await model.stat("products.by_unit", date(2025, 8, 1))
    assert {k: v["products"] for k, v in before.items()} == {"district:001": 1}
    assert {k: v["products"] for k, v in after.items()} == {"commune:00008": 1}


async def test_a_place_recorded_before_the_reorganisation_counts_under_its_new_commune(
    pool: asyncpg.Pool,
) -> None:
    # 00004 was Trúc Bạch (Ba Đình district) before 1 July 2025; the code now names the ward
    # Ba Đình, which Trúc Bạch became part of; 00013 (Quán Thánh) went to the same ward.
    model = Model(pool)
    p, q = uuid4(), uuid4()
    await model.feed(
        [
            product(p, commune="00004", district="001", on=date(2020, 1, 1)),
            product(q, commune="00013", district="001", on=date(2021, 1, 1)),
            certified(p, 4, date(2024, 1, 10)),
            certified(q, 3, date(2024, 2, 10)),
        ]
    )
    before = await model.stat("products.by_unit", date(2025, 6, 30))
    after = await model.stat("products.by_unit", date(2025, 8, 1))
    assert {k: v["products"] for k, v in before.items()} == {"district:001": 2}
    assert {k: v["products"] for k, v in after.items()} == {"commune:00004": 2}


async def test_rounds_count_registered_evaluated_and_certified_by_level(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    p, q = uuid4(), uuid4()
    app_p, app_q = uuid4(), uuid4()
    await model.feed(
        [
            submitted(p, 2022, date(2022, 3, 1), app_p),
            submitted(q, 2022, date(2022, 3, 2), app_q),
            scored(p, app_p, date(2022, 9, 1)),
            certified(p, 4, date(2022, 10, 1), application_id=app_p),
        ]
    )
    rounds = await model.stat("rounds.by_year", date(2022, 12, 31))
    assert rounds["2022"]["registered"] == 2
    assert rounds["2022"]["evaluated"] == 1
    assert rounds["2022"]["certified_city"] == 1


async def test_producers_by_legal_form_count_registered_and_certified_producers(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    coop, household = uuid4(), uuid4()
    p = uuid4()
    await model.feed(
        [
            producer(coop),
            producer(household, legal_form=reg.LegalForm.HOUSEHOLD_BUSINESS),
            product(p, producer_id=coop),
            certified(p, 3, date(2021, 1, 5)),
        ]
    )
    forms = await model.stat("producers.by_legal_form", END_2021)
    assert forms["cooperative"] == {"producers": 1, "certified": 1}
    assert forms["household_business"] == {"producers": 1, "certified": 0}


async def test_an_invalid_record_is_dead_lettered_and_the_rest_of_its_batch_applied(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    p = uuid4()
    good = certified(p, 4, date(2021, 5, 1))
    bad = record_of(good, offset=99, value=b'{"not": "a certificate"}')
    outcomes = await model.consumer.apply([record_of(product(p), offset=98), bad])
    assert outcomes[("ocop.evaluation.certificates.v1", "dead_lettered")] == 1
    assert len(model.letters.sent) == 1
    assert model.letters.sent[0]["topic"] == "ocop.insights.dlq.v1"
    assert dict(model.letters.sent[0]["headers"])["ocop_dlq_reason"].startswith(b"invalid ")
    # The product of the same batch was applied.
    assert await pool.fetchval("SELECT count(*) FROM products") == 1


async def test_trade_and_inspection_facts_merge_whatever_order_their_events_come_in(
    pool: asyncpg.Pool,
) -> None:
    from ocop_contracts.events import inspection as ins
    from ocop_contracts.events import trade
    from tests.insights_events import at

    model = Model(pool)
    shop, kiosk = uuid4(), uuid4()
    fair, cancelled = uuid4(), uuid4()
    campaign = uuid4()

    def opened(outlet: Any, kind: trade.LocationType) -> trade.OutletOpened:
        return trade.OutletOpened(
            outlet_id=outlet,
            name="Điểm bán",
            operator="HTX",
            location_type=kind,
            unit_code="00004",
            opened_on=date(2021, 3, 1),
            opened_at=at(date(2021, 3, 1)),
        )

    def listed(outlet: Any) -> trade.ProductListed:
        return trade.ProductListed(
            listing_id=uuid4(),
            outlet_id=outlet,
            basis=trade.ListingBasis.OCOP,
            goods_name="Chè",
            product_id=uuid4(),
            star=4,
            listed_on=date(2021, 3, 2),
            listed_at=at(date(2021, 3, 2)),
        )

    def scheduled(event_id: Any) -> trade.PromotionScheduled:
        return trade.PromotionScheduled(
            event_id=event_id,
            kind=trade.PromotionKind.PRODUCT_WEEK,
            name="Tuần hàng OCOP",
            organiser="Sở Công Thương",
            venue="Hà Nội",
            starts_on=date(2021, 10, 1),
            ends_on=date(2021, 10, 7),
            capacity=100,
            admits_other_goods=False,
            scheduled_at=at(date(2021, 8, 1)),
        )

    def finding(category: ins.FindingCategory, outcome: ins.FindingOutcome) -> Any:
        return ins.FindingRecorded(
            finding_id=uuid4(),
            visit_id=uuid4(),
            campaign_id=campaign,
            producer_id=uuid4(),
            product_id=uuid4(),
            category=category,
            severity=ins.Severity.MAJOR,
            outcome=outcome,
            visited_on=date(2021, 11, 5),
            recorded_at=at(date(2021, 11, 5)),
        )

    # Endings first, beginnings after: the rows come out the same.
    await model.feed(
        [
            trade.OutletClosed(
                outlet_id=kiosk,
                closed_on=date(2021, 9, 1),
                reason="hết hợp đồng",
                closed_at=at(date(2021, 9, 1)),
            ),
            trade.PromotionReported(
                event_id=fair,
                producers=70,
                products=200,
                sales_vnd=1_500_000_000,
                contracts_signed=12,
                contracts_value_vnd=3_000_000_000,
                reported_at=at(date(2021, 10, 20)),
            ),
            trade.PromotionCancelled(
                event_id=cancelled, reason="dịch bệnh", cancelled_at=at(date(2021, 9, 1))
            ),
            ins.CampaignClosed(
                campaign_id=campaign,
                producers_inspected=41,
                products_inspected=334,
                closed_at=at(date(2021, 12, 20)),
            ),
            finding(ins.FindingCategory.LABEL, ins.FindingOutcome.ADVICE),
            finding(ins.FindingCategory.LABEL, ins.FindingOutcome.REMEDIATION),
            finding(ins.FindingCategory.PACKAGING, ins.FindingOutcome.COMPLIANT),
        ]
    )
    await model.feed(
        [
            opened(shop, trade.LocationType.CRAFT_VILLAGE),
            opened(kiosk, trade.LocationType.CRAFT_VILLAGE),
            listed(shop),
            listed(shop),
            listed(kiosk),
            scheduled(fair),
            scheduled(cancelled),
            ins.CampaignPlanned(
                campaign_id=campaign,
                name="Kiểm tra OCOP 2021",
                year=2021,
                lead_agency="Văn phòng Điều phối NTM",
                target_producers=50,
                target_products=360,
                starts_on=date(2021, 10, 1),
                ends_on=date(2021, 12, 31),
                planned_at=at(date(2021, 9, 15)),
            ),
        ]
    )

    outlets = await model.stat("trade.outlets", END_2021)
    assert outlets == {"craft_village": {"open": 1, "listings": 2}}
    assert (await model.stat("trade.outlets", date(2021, 6, 1)))["craft_village"]["open"] == 2
    promotions = await model.stat("trade.promotions", END_2021)
    assert promotions["2021"] == {
        "events": 1,
        "reported": 1,
        "producers": 70,
        "sales_million_vnd": 1500,
        "contracts": 12,
    }
    campaigns = await model.stat("inspection.campaigns", END_2021)
    assert campaigns["2021"] == {
        "campaigns": 1,
        "target_producers": 50,
        "producers_inspected": 41,
        "products_inspected": 334,
    }
    findings = await model.stat("inspection.findings", END_2021)
    assert findings == {"label": {"findings": 2, "producers": 2, "serious": 2}}


async def test_plan_compares_first_certifications_with_the_yearly_and_period_targets(
    pool: asyncpg.Pool,
) -> None:
    model = Model(pool)
    events: list[Event] = []
    for i, year in enumerate((2021, 2021, 2021, 2022, 2022)):
        p = uuid4()
        first = uuid4()
        events += [product(p), certified(p, 3, date(year, 6, 1), certificate_id=first)]
        if i == 0:  # a re-evaluation is not a new product
            events.append(certified(p, 4, date(2022, 6, 1), replaces=first))
    await model.feed(events)
    plan = await model.stat("plan.by_year", date(2022, 12, 31))
    assert plan["2021"] == {"target": 400, "actual": 3}
    assert plan["2022"] == {"target": 400, "actual": 2}
    assert plan["2023"] == {"target": 400, "actual": 0}
    assert plan["2021-2025"] == {"target": 2000, "actual": 5}
