"""Evaluation's lists page by keyset: every row once, in the list's order, to the last page; a
cursor is opaque and good only for the list and sort that returned it (400 otherwise, never a
500); an unknown sort is a 422.

The rows are written through the store into the test's own schema. The service's consumer may
meanwhile replay other tests' commands and events into that schema, so a list without a filter
only these rows match is checked for order, duplicates and the subsequence of these rows."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from ocop_evaluation import domain, store
from ocop_evaluation.app import create_app
from ocop_evaluation.settings import EvaluationSettings
from ocop_runtime.paging import encode_cursor
from ocop_runtime.testing import running

# No command or event of the other tests names this year (they use the current one and
# 2030-2099), so the rounds filtered by it are this test's alone.
YEAR = 2019
UNITS = ("99901", "99902")  # no product of the other tests is in these communes
PRODUCT_SET = "paging.lists"
LEVELS = (domain.Level.COMMUNE, domain.Level.DISTRICT, domain.Level.CITY, domain.Level.CENTRAL)


def _rounds(n: int, rng: random.Random) -> list[domain.Round]:
    """Closed and decided rounds opened at a handful of instants, so that many tie."""
    instants = [datetime(2019, 3, d, 8, 30, tzinfo=UTC) for d in (1, 1, 2, 5, 5, 5, 9)]
    return [
        domain.Round(
            id=uuid4(),
            year=YEAR,
            level=rng.choice(LEVELS),
            name=f"Vòng {i}",
            status=rng.choice((domain.RoundStatus.CLOSED, domain.RoundStatus.DECIDED)),
            opened_at=rng.choice(instants) + timedelta(microseconds=rng.choice((0, 0, 1))),
        )
        for i in range(n)
    ]


def _certificates(
    n: int, today: date, rng: random.Random
) -> tuple[list[domain.ProductCopy], list[domain.CertificateRecord]]:
    """Certificates on a few days (live, and some ended), each of a product in ``UNITS``."""
    products = [
        domain.ProductCopy(
            product_id=uuid4(),
            producer_id=uuid4(),
            name=f"Sản phẩm {i}",
            public_code=f"01-{UNITS[i % 2]}-{i:04d}-2024",
            classification="148",
            product_set=PRODUCT_SET,
            commune_code=UNITS[i % 2],
            district_code=None,
            version=1,
        )
        for i in range(n)
    ]
    ends = [today + timedelta(days=d) for d in (3, 3, 40, 40, 40, 89, 120, 400)]
    states = [domain.CertificateState.LIVE] * 4 + [
        domain.CertificateState.EXPIRED,
        domain.CertificateState.REPLACED,
    ]
    records = []
    for i, p in enumerate(products):
        valid_until = rng.choice(ends)
        certificate = domain.Certificate(
            id=uuid4(),
            product_id=p.product_id,
            star=rng.choice((3, 4, 5)),
            level=domain.Level.CITY,
            decision_number=f"{i}/QĐ-UBND",
            decision_date=valid_until - timedelta(days=rng.choice((1094, 1095, 1100))),
            valid_until=valid_until,
            rulebook=domain.RulebookRef("148", 1),
            score=Decimal("75.50"),
            state=rng.choice(states),
        )
        records.append(
            domain.CertificateRecord(
                certificate=certificate,
                number=f"{i:05d}/2024/GCN-OCOP-HN",
                application_id=None,
                notices_sent=(),
                issued_at=datetime.now(UTC),
            )
        )
    return products, records


async def _walk(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], limit: int
) -> tuple[list[dict[str, Any]], list[int], int]:
    """Every item of a list, page by page: the items, each page's total, the pages."""
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=page_params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        totals.append(page["total"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, totals, pages
        assert len(page["items"]) == limit, "only a full page has a next page"
        assert pages < 1000, "the pages do not end"


def _ordered(rows: Sequence[Any], key: Callable[[Any], Any], descending: bool) -> list[UUID]:
    return [UUID(str(r.id)) for r in sorted(rows, key=key, reverse=descending)]


def _ids(items: Sequence[dict[str, Any]]) -> list[UUID]:
    return [UUID(i["id"]) for i in items]


async def test_rounds_page_to_the_end_in_each_order_without_duplicates_or_gaps(
    make_settings: Any,
) -> None:
    rng = random.Random(7)
    ours = _rounds(23, rng)
    app = create_app(make_settings(EvaluationSettings))
    async with running(app) as client:
        async with app.state.ctx.pool.acquire() as conn:
            for r in ours:
                await store.insert_round(conn, r)
        walks = {
            sort: await _walk(client, "/rounds", {"year": YEAR, "sort": sort}, 5)
            for sort in ("-opened_at", "opened_at")
        }
        default = await _walk(client, "/rounds", {"year": YEAR}, 4)
        closed = await _walk(client, "/rounds", {"year": YEAR, "status": "closed"}, 3)
        everything, _, _ = await _walk(client, "/rounds", {}, 7)

    def by_opening(r: domain.Round) -> tuple[datetime, UUID]:
        return r.opened_at, r.id

    for sort, (items, totals, pages) in walks.items():
        expected = _ordered(ours, by_opening, descending=sort.startswith("-"))
        assert _ids(items) == expected, sort
        assert totals == [23] * pages == [23] * 5, sort
    assert _ids(default[0]) == _ordered(ours, by_opening, descending=True), "newest first"
    assert _ids(closed[0]) == _ordered(
        [r for r in ours if r.status is domain.RoundStatus.CLOSED], by_opening, descending=True
    )
    assert all(i["status"] == "closed" for i in closed[0])
    # Rounds the consumer replayed into this schema may be among the unfiltered ones.
    seen = _ids(everything)
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in {r.id for r in ours}] == _ordered(
        ours, by_opening, descending=True
    )
    openings = [datetime.fromisoformat(i["opened_at"]) for i in everything]
    assert openings == sorted(openings, reverse=True)


async def test_certificates_and_the_expiry_radar_page_to_the_end_in_each_order(
    make_settings: Any,
) -> None:
    rng = random.Random(11)
    app = create_app(make_settings(EvaluationSettings))
    async with running(app) as client:
        today = date.fromisoformat((await client.get("/clock")).json()["now"][:10])
        products, records = _certificates(31, today, rng)
        async with app.state.ctx.pool.acquire() as conn:
            await store.upsert_products(conn, products)
            await store.save_certificates(conn, records)
        sorts = {
            sort: await _walk(
                client, "/certificates", {"product_set": PRODUCT_SET, "sort": sort}, 4
            )
            for sort in store.CERTIFICATE_SORTS
        }
        in_unit = await _walk(client, "/certificates", {"unit": UNITS[0], "state": "live"}, 2)
        default, _, _ = await _walk(client, "/certificates", {}, 6)
        radar, _, radar_pages = await _walk(client, "/certificates/expiring", {}, 3)
        year_ahead, _, _ = await _walk(client, "/certificates/expiring", {"within_days": 365}, 500)

    certificates = [r.certificate for r in records]
    ours = {c.id for c in certificates}
    keys: dict[str, Callable[[domain.Certificate], Any]] = {
        "valid_until": lambda c: (c.valid_until, c.id),
        "decision_date": lambda c: (c.decision_date, c.id),
    }
    for sort, (items, totals, pages) in sorts.items():
        expected = _ordered(certificates, keys[sort.lstrip("-")], sort.startswith("-"))
        assert _ids(items) == expected, sort
        assert totals == [31] * pages, sort
    live_here = [
        c
        for c, p in zip(certificates, products, strict=True)
        if c.state is domain.CertificateState.LIVE and p.commune_code == UNITS[0]
    ]
    assert _ids(in_unit[0]) == _ordered(live_here, keys["valid_until"], descending=False)
    assert in_unit[1] == [len(live_here)] * in_unit[2]

    # Without a filter of this test's own, other certificates may be listed too.
    seen = _ids(default)
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in ours] == _ordered(
        certificates, keys["valid_until"], descending=False
    )
    ends = [(i["valid_until"], i["id"]) for i in default]
    assert ends == sorted(ends, key=lambda e: (e[0], UUID(e[1])))

    def expiring(within: int) -> list[UUID]:
        due = [
            c
            for c in certificates
            if c.state is domain.CertificateState.LIVE
            and c.valid_until <= today + timedelta(days=within)
        ]
        return _ordered(due, keys["valid_until"], descending=False)

    assert len(expiring(90)) > 3, "the radar spans several pages"
    assert [i for i in _ids(radar) if i in ours] == expiring(90)
    assert len(_ids(radar)) == len(set(_ids(radar))) and radar_pages > 1
    assert all(i["state"] == "live" for i in radar)
    assert [i for i in _ids(year_ahead) if i in ours] == expiring(365)


def _refusal(response: httpx.Response) -> tuple[int, list[Any]]:
    detail = response.json().get("detail") if response.status_code >= 400 else None
    return response.status_code, [d["loc"] for d in detail or []]


def _tampered(cursor: str) -> list[str]:
    """``cursor`` made into one this API cannot have returned. (Changing one digit of the
    position inside would make another valid position: cursors are opaque, not signed.)"""
    raw = base64.urlsafe_b64decode(cursor)
    sort, value, row = json.loads(raw)

    def made(document: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()

    return [
        cursor[:-5],
        base64.urlsafe_b64encode(raw.replace(b'"', b"'")).decode(),
        made([sort, value]),
        made([sort, value, "not-a-row-id"]),
        made([sort, "", row]),
        made([sort, 20261230, row]),
        made({"sort": sort, "after": value}),
        "yesterday",
        f"{datetime.now(UTC).isoformat()}|{uuid4()}",  # the cursor these lists used to give
    ]


async def _seed_soon_ending(
    app: Any, client: httpx.AsyncClient, rng: random.Random, n: int
) -> None:
    """``n`` rounds of ``YEAR`` and ``n`` live certificates ending within the radar's default
    90 days, so that every list has rows (and, with ``limit=1``, a next page)."""
    today = date.fromisoformat((await client.get("/clock")).json()["now"][:10])
    products, records = _certificates(n, today, rng)
    soon, live = today + timedelta(days=30), domain.CertificateState.LIVE
    async with app.state.ctx.pool.acquire() as conn:
        for r in _rounds(n, rng):
            await store.insert_round(conn, r)
        await store.upsert_products(conn, products)
        await store.save_certificates(
            conn,
            [
                replace(r, certificate=replace(r.certificate, valid_until=soon, state=live))
                for r in records
            ],
        )


@pytest.mark.parametrize(
    ("path", "sort", "value"),
    [
        ("/rounds", "-opened_at", "not a time"),
        ("/rounds", "opened_at", "294277-01-01 00:00:00+00"),
        ("/certificates", "valid_until", "2026-02-30"),
        ("/certificates", "-decision_date", r"\ud800"),
        ("/certificates/expiring", "expiring", "the day after"),
    ],
)
async def test_a_forged_cursor_for_the_right_sort_is_a_400_not_a_500(
    make_settings: Any, path: str, sort: str, value: str
) -> None:
    forged = base64.urlsafe_b64encode(f'["{sort}", "{value}", "{uuid4()}"]'.encode()).decode()
    params = {"cursor": forged, **({} if path.endswith("expiring") else {"sort": sort})}
    app = create_app(make_settings(EvaluationSettings))
    async with running(app) as client:
        await _seed_soon_ending(app, client, random.Random(5), 2)
        response = await client.get(path, params=params)

    assert _refusal(response) == (400, [["query", "cursor"]])


async def test_a_tampered_cursor_or_one_of_another_list_or_sort_is_refused_with_a_400(
    make_settings: Any,
) -> None:
    app = create_app(make_settings(EvaluationSettings))
    async with running(app) as client:
        await _seed_soon_ending(app, client, random.Random(3), 3)

        async def first_cursor(path: str, **params: Any) -> str:
            page = (await client.get(path, params={"limit": 1, **params})).json()
            assert page["next_cursor"], path
            return str(page["next_cursor"])

        rounds = await first_cursor("/rounds", year=YEAR)
        certificates = await first_cursor("/certificates", product_set=PRODUCT_SET)
        radar = await first_cursor("/certificates/expiring")
        registry_like = encode_cursor("registered_at", (datetime.now(UTC).isoformat(), uuid4()))

        answers = {
            "tampered": [
                await client.get(path, params={"cursor": bad})
                for path, good in (
                    ("/rounds", rounds),
                    ("/certificates", certificates),
                    ("/certificates/expiring", radar),
                )
                for bad in _tampered(good)
            ],
            "other list or sort": [
                await client.get("/certificates", params={"cursor": rounds}),
                await client.get("/certificates/expiring", params={"cursor": rounds}),
                await client.get("/rounds", params={"cursor": certificates}),
                await client.get("/certificates/expiring", params={"cursor": certificates}),
                await client.get("/certificates", params={"cursor": radar}),
                await client.get("/rounds", params={"cursor": radar}),
                await client.get("/rounds", params={"cursor": rounds, "sort": "opened_at"}),
                await client.get(
                    "/certificates", params={"cursor": certificates, "sort": "-valid_until"}
                ),
                await client.get("/rounds", params={"cursor": registry_like}),
                await client.get("/certificates", params={"cursor": registry_like}),
            ],
        }
        unknown_sorts = [
            await client.get("/rounds", params={"sort": "name"}),
            await client.get("/certificates", params={"sort": "expiring", "cursor": radar}),
        ]
        still_good = [
            await client.get("/rounds", params={"cursor": rounds, "year": YEAR}),
            await client.get("/certificates", params={"cursor": certificates}),
            await client.get("/certificates/expiring", params={"cursor": radar}),
        ]

    for kind, responses in answers.items():
        for response in responses:
            assert _refusal(response) == (400, [["query", "cursor"]]), (
                kind,
                response.request.url,
                response.text,
            )
    mixed = answers["other list or sort"][1].json()["detail"][0]["msg"]
    assert "sort=-opened_at" in mixed, mixed
    for response in unknown_sorts:
        assert _refusal(response) == (422, [["query", "sort"]]), response.text
    assert [r.status_code for r in still_good] == [200, 200, 200]


async def test_revocation_recommendations_page_by_status_and_product_in_each_order(
    make_settings: Any,
) -> None:
    rng = random.Random(11)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    product = uuid4()
    ours = [
        domain.Recommendation(
            id=uuid4(),
            product_id=product if i % 3 == 0 else uuid4(),
            certificate_id=uuid4(),
            grounds=("food_safety_breach",),
            findings=(f"phát hiện {i}",),
            recommended_at=start + timedelta(hours=rng.randrange(0, 2000)),
        )
        for i in range(17)
    ]
    decided = {
        ours[i].id: domain.RecommendationDecision.REVOKED
        if n % 2
        else domain.RecommendationDecision.REJECTED
        for n, i in enumerate(range(0, 17, 4))
    }
    app = create_app(make_settings(EvaluationSettings))
    async with running(app) as client:
        async with app.state.ctx.pool.acquire() as conn:
            for r in ours:
                await store.insert_recommendation(conn, r)
            for rid, verdict in decided.items():
                await store.set_recommendation(conn, rid, verdict)
        path = "/revocation-recommendations"
        pending = await _walk(client, path, {}, 4)
        newest = await _walk(client, path, {"sort": "-recommended_at", "status": "all"}, 5)
        by_status = {s: await _walk(client, path, {"status": s}, 2) for s in ("decided", "revoked")}
        of_product = await _walk(client, path, {"product_id": str(product), "status": "all"}, 2)
        unknown_sort = await client.get(path, params={"sort": "grounds"})
        bad_status = await client.get(path, params={"status": "maybe"})

    def at(r: domain.Recommendation) -> tuple[datetime, UUID]:
        return r.recommended_at, r.id

    waiting = [r for r in ours if r.id not in decided]
    assert _ids(pending[0]) == _ordered(waiting, at, descending=False)
    assert pending[1] == [len(waiting)] * pending[2]
    assert all(i["decided"] is None for i in pending[0])
    assert _ids(newest[0]) == _ordered(ours, at, descending=True)
    assert set(_ids(by_status["decided"][0])) == set(decided)
    revoked = {i for i, v in decided.items() if v is domain.RecommendationDecision.REVOKED}
    assert set(_ids(by_status["revoked"][0])) == revoked
    assert {i["decided"] for i in by_status["revoked"][0]} == {"revoked"}
    assert _ids(of_product[0]) == _ordered(
        [r for r in ours if r.product_id == product], at, descending=False
    )
    assert _refusal(unknown_sort)[0] == 422
    assert bad_status.status_code == 422


async def test_a_rounds_entries_page_by_status_and_product_in_each_order(
    make_settings: Any,
) -> None:
    rng = random.Random(13)
    [round_] = _rounds(1, rng)
    joined = [
        datetime(2025, 4, 1, 8, tzinfo=UTC) + timedelta(minutes=rng.choice((0, 0, 5)))
        for _ in range(23)
    ]
    product = uuid4()
    statuses = [domain.EntryStatus.ENTERED, domain.EntryStatus.SCORED, domain.EntryStatus.WITHDRAWN]
    ours = [
        domain.Entry(
            application_id=uuid4(),
            product_id=product if i % 5 == 0 else uuid4(),
            producer_id=uuid4(),
            kind=domain.EntryKind.FIRST_TIME,
            regime="148",
            product_set=PRODUCT_SET,
            commune_code="00004",
            district_code="001",
            round_year=YEAR,
            level=round_.level,
            submitted_on=date(2025, 3, 1),
            round_id=round_.id,
            status=statuses[i % 3],
            created_at=joined[i],
        )
        for i in range(23)
    ]
    app = create_app(make_settings(EvaluationSettings))
    async with running(app) as client:
        async with app.state.ctx.pool.acquire() as conn:
            await store.insert_round(conn, round_)
            for e in ours:
                assert await store.insert_entry(conn, e)
        path = f"/rounds/{round_.id}/entries"
        in_round = await _walk(client, path, {}, 4)
        newest = await _walk(client, path, {"sort": "-created_at", "status": "scored"}, 3)
        withdrawn = await _walk(client, path, {"status": "withdrawn"}, 5)
        of_product = await _walk(client, path, {"product_id": str(product)}, 2)
        unknown = await client.get(f"/rounds/{uuid4()}/entries")
        bad_status = await client.get(path, params={"status": "maybe"})

    def at(e: domain.Entry) -> tuple[datetime, UUID]:
        return e.created_at, e.application_id

    def ids(entries: Sequence[domain.Entry], descending: bool = False) -> list[UUID]:
        return [e.application_id for e in sorted(entries, key=at, reverse=descending)]

    def keys(items: Sequence[dict[str, Any]]) -> list[UUID]:
        return [UUID(i["application_id"]) for i in items]

    still = [e for e in ours if e.status is not domain.EntryStatus.WITHDRAWN]
    assert keys(in_round[0]) == ids(still)
    assert in_round[1] == [len(still)] * in_round[2]
    scored = [e for e in ours if e.status is domain.EntryStatus.SCORED]
    assert keys(newest[0]) == ids(scored, descending=True)
    assert keys(withdrawn[0]) == ids([e for e in ours if e.status is domain.EntryStatus.WITHDRAWN])
    assert keys(of_product[0]) == ids([e for e in still if e.product_id == product])
    assert unknown.status_code == 404
    assert bad_status.status_code == 422
