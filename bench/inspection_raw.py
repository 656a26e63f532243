"""The raw baseline of ``bench.inspection_campaign``: the population it loads into both schemas,
the baseline's own SQL for the risk draw and for recording findings (the domain's rules and the
contract models are shared; nothing else of the service is used), and the check that both sides
did the same work."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

import asyncpg

from ocop_contracts import Event
from ocop_contracts.envelope import source
from ocop_contracts.events import inspection as contract
from ocop_inspection import domain

PRODUCTS = 5000
AS_OF = date(2021, 10, 1)


@dataclass(frozen=True)
class Visit:
    id: UUID
    producer: UUID
    products: list[UUID]
    day: date


_OUTBOX = (
    "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload,"
    " traceparent, tracestate) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)"
)
_FRESH = {"remediation_id"}  # an id each side chose for itself


# ---------------------------------------------------------------- the population


def population(rng: random.Random, products: int = PRODUCTS) -> dict[str, list[tuple[Any, ...]]]:
    producers = [(uuid4(), f"{16 + i % 30:03d}") for i in range(products // 5)]
    rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in ("producers", "products", "certs")}
    rows |= {"complaints": [], "visits": [], "findings": []}
    for pid, district in producers:
        rows["producers"].append((pid, "cooperative", "HTX", "10" + district, district, 1))
    for n in range(products):
        pid, district = producers[n % len(producers)]
        product = uuid4()
        rows["products"].append(
            (
                product,
                pid,
                f"SP {n}",
                f"01-{n:05d}",
                "1048.food.grain",
                "10" + district,
                district,
                1,
            )
        )
        decided = date(2019, 9, 1) + timedelta(days=rng.randrange(640))
        rows["certs"].append(
            (
                uuid4(),
                product,
                3 + rng.randrange(3),
                decided,
                decided,
                decided + timedelta(days=3 * 365 - 1),
            )
        )
        if rng.random() < 0.05:
            rows["complaints"].append(
                (uuid4(), product, date(2021, 3, 1), f"PA-{n}", datetime.now(UTC))
            )
        if rng.random() < 0.3:
            visit = uuid4()
            rows["visits"].append(
                (
                    visit,
                    None,
                    pid,
                    date(2020, 1, 1) + timedelta(days=rng.randrange(500)),
                    [product],
                    district,
                    None,
                    None,
                    "bench",
                    datetime.now(UTC),
                )
            )
            if rng.random() < 0.4:
                rows["findings"].append(
                    (
                        uuid4(),
                        visit,
                        None,
                        pid,
                        product,
                        "label",
                        "minor",
                        None,
                        [],
                        None,
                        "advice",
                        None,
                        rows["visits"][-1][3],
                        datetime.now(UTC),
                    )
                )
    return rows


async def load(pool: asyncpg.Pool, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO producers (producer_id, legal_form, name, commune_code, district_code,"
            " version) VALUES ($1, $2, $3, $4, $5, $6)",
            rows["producers"],
        )
        await conn.executemany(
            "INSERT INTO products (product_id, producer_id, name, public_code, product_set,"
            " commune_code, district_code, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            rows["products"],
        )
        await conn.executemany(
            "INSERT INTO certificates (certificate_id, product_id, star, decision_date,"
            " valid_from, valid_until, state) VALUES ($1, $2, $3, $4, $5, $6, 'live')",
            rows["certs"],
        )
        await conn.executemany(
            "INSERT INTO complaints VALUES ($1, $2, $3, $4, $5)", rows["complaints"]
        )
        await conn.executemany(
            "INSERT INTO visits VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", rows["visits"]
        )
        await conn.executemany(
            "INSERT INTO findings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            rows["findings"],
        )


async def plan_campaign(pool: asyncpg.Pool, campaign_id: UUID) -> None:
    await pool.execute(
        "INSERT INTO campaigns (id, name, year, lead_agency, departments, scope, units,"
        " target_producers, target_products, starts_on, ends_on, status, planned_at) VALUES"
        " ($1, 'Q4/2021', 2021, 'VP NTM', '{}', '{label}', '{}', 41, 334, '2021-10-01',"
        " '2021-12-31', 'planned', now())",
        campaign_id,
    )


def outbox_row(e: Event, at: datetime) -> tuple[Any, ...]:
    return (uuid4(), e.TOPIC, e.key(), e.CE_TYPE, source("inspection"), at, e.model_dump_json())


# ---------------------------------------------------------------- the baseline


_CANDIDATES = """
WITH held AS (
  SELECT DISTINCT ON (product_id) product_id, star, decision_date, valid_until
  FROM certificates
  WHERE valid_from <= $1 AND valid_until >= $1 AND (ended_on IS NULL OR ended_on > $1)
  ORDER BY product_id, valid_from DESC, decision_date DESC
), seen AS (
  SELECT x.product_id, max(v.visited_on) AS day
  FROM visits v CROSS JOIN LATERAL unnest(v.product_ids) AS x(product_id)
  WHERE v.visited_on <= $1 GROUP BY x.product_id
)
SELECT h.product_id, p.producer_id, coalesce(p.district_code, p.commune_code) AS unit, h.star,
  h.decision_date, h.valid_until, s.day,
  (SELECT count(*) FROM findings f WHERE f.product_id = h.product_id AND f.visited_on < $1
     AND f.outcome <> 'compliant')::int AS found,
  (SELECT count(*) FROM complaints c WHERE c.product_id = h.product_id AND c.received_on <= $1)::int
     AS complained
FROM held h JOIN products p USING (product_id) LEFT JOIN seen s USING (product_id)
WHERE p.active
"""


async def raw_draw(pool: asyncpg.Pool, campaign_id: UUID, size: int, seed: int) -> list[Any]:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_CANDIDATES, AS_OF)
        candidates = [
            domain.Candidate(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows
        ]
        drawn = domain.draw_by_risk(candidates, domain.RiskDraw(size, seed), AS_OF)
        draw_id, at = uuid4(), datetime.now(UTC)
        params = json.dumps({"size": size, "seed": seed, "as_of": AS_OF.isoformat()})
        await conn.execute(
            "INSERT INTO draws VALUES ($1, $2, 'risk', $3, $4::jsonb, $5, $6, $7)",
            draw_id,
            campaign_id,
            seed,
            params,
            len(candidates),
            len(drawn),
            at,
        )
        await conn.executemany(
            "INSERT INTO sample_products VALUES ($1, $2, $3, $4, $5, 'risk', $6, $7)",
            [
                (campaign_id, d.product_id, d.producer_id, d.unit, draw_id, d.risk, list(d.reasons))
                for d in drawn
            ],
        )
        firsts: dict[UUID, Any] = {}
        for d in drawn:
            firsts.setdefault(d.producer_id, d)
        await conn.executemany(
            "INSERT INTO sample_producers VALUES ($1, $2, $3, 'risk', $4)",
            [(campaign_id, p, d.unit, list(d.reasons)) for p, d in firsts.items()],
        )
        event = contract.SampleDrawn(
            campaign_id=campaign_id,
            method=contract.SampleMethod.RISK,
            seed=seed,
            product_ids=[d.product_id for d in drawn],
            producer_ids=list(firsts),
            population=len(candidates),
            drawn_at=at,
        )
        await conn.execute(_OUTBOX, *outbox_row(event, at))
        return drawn


def drafts(visit: Visit, round_: int) -> list[domain.FindingDraft]:
    first, second = visit.products[0], visit.products[-1]
    return [
        domain.FindingDraft(
            id=uuid5(visit.id, f"label-{round_}"),
            product_id=first,
            category=domain.Category.LABEL,
            severity=domain.Severity.MINOR,
            outcome=domain.Outcome.ADVICE,
            criterion="B.1",
            evidence=("ảnh-1",),
        ),
        domain.FindingDraft(
            id=uuid5(visit.id, f"packaging-{round_}"),
            product_id=second,
            category=domain.Category.PACKAGING,
            severity=domain.Severity.MAJOR,
            outcome=domain.Outcome.REMEDIATION,
            evidence=("ảnh-2",),
            remediation_deadline=visit.day + timedelta(days=30),
        ),
    ]


def finding_json(d: domain.FindingDraft) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "product_id": str(d.product_id),
        "category": d.category.value,
        "severity": d.severity.value,
        "outcome": d.outcome.value,
        "criterion": d.criterion,
        "evidence": list(d.evidence),
        "remediation_deadline": d.remediation_deadline.isoformat()
        if d.remediation_deadline
        else None,
    }


async def raw_findings(conn: asyncpg.Connection, visit_id: UUID, drafts: list[Any]) -> None:
    async with conn.transaction():
        v = await conn.fetchrow("SELECT * FROM visits WHERE id = $1", visit_id)
        visit = domain.Visit(
            v["id"],
            v["campaign_id"],
            v["producer_id"],
            v["visited_on"],
            tuple(v["product_ids"]),
            v["unit"],
        )
        done = await conn.fetch(
            "SELECT id FROM findings WHERE id = ANY($1::uuid[])", [d.id for d in drafts]
        )
        assert not done
        certs: dict[UUID, list[domain.CertificateCopy]] = {}
        for r in await conn.fetch(
            "SELECT certificate_id, product_id, star, decision_date, valid_from, valid_until,"
            " state, ended_on FROM certificates WHERE product_id = ANY($1::uuid[])",
            [d.product_id for d in drafts],
        ):
            certs.setdefault(r["product_id"], []).append(domain.CertificateCopy(*r.values()))
        findings = [d.on(visit) for d in drafts]
        domain.check_findings(visit, findings, certs)
        at = datetime.now(UTC)
        await conn.executemany(
            "INSERT INTO findings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, NULL, $11, $12)",
            [
                (
                    f.id,
                    f.visit_id,
                    f.campaign_id,
                    f.producer_id,
                    f.product_id,
                    f.category.value,
                    f.severity.value,
                    f.criterion,
                    list(f.evidence),
                    f.outcome.value,
                    f.visited_on,
                    at,
                )
                for f in findings
            ],
        )
        asked = [
            domain.require_remediation(
                uuid4(),
                f.id,
                f.producer_id,
                f.product_id,
                f.campaign_id,
                visit.visited_on,
                f.remediation_deadline,
            )
            for f in findings
            if f.remediation_deadline is not None
        ]
        await conn.executemany(
            "INSERT INTO remediations (id, finding_id, producer_id, product_id, campaign_id,"
            " required_on, deadline, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
            " 'open', $8)",
            [
                (
                    r.id,
                    r.finding_id,
                    r.producer_id,
                    r.product_id,
                    r.campaign_id,
                    r.required_on,
                    r.deadline,
                    at,
                )
                for r in asked
            ],
        )
        events: list[Event] = [
            contract.FindingRecorded(
                finding_id=f.id,
                visit_id=f.visit_id,
                campaign_id=f.campaign_id,
                producer_id=f.producer_id,
                product_id=f.product_id,
                category=contract.FindingCategory(f.category.value),
                severity=contract.Severity(f.severity.value),
                criterion=f.criterion,
                evidence=list(f.evidence),
                outcome=contract.FindingOutcome(f.outcome.value),
                visited_on=f.visited_on,
                recorded_at=at,
            )
            for f in findings
        ] + [
            contract.RemediationRequired(
                remediation_id=r.id,
                finding_id=r.finding_id,
                producer_id=r.producer_id,
                product_id=r.product_id,
                deadline=r.deadline,
                required_at=at,
            )
            for r in asked
        ]
        await conn.executemany(_OUTBOX, [outbox_row(e, at) for e in events])


# ---------------------------------------------------------------- agreement


async def mark(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def state(pool: asyncpg.Pool, mark: int) -> list[Counter[str]]:
    findings = Counter(
        json.dumps([str(v) for v in r.values()])
        for r in await pool.fetch(
            "SELECT f.id, f.visit_id, f.product_id, f.category, f.severity, f.criterion,"
            " f.evidence, f.outcome, f.visited_on, r.deadline, r.status FROM findings f"
            " LEFT JOIN remediations r ON r.finding_id = f.id WHERE f.campaign_id IS NOT NULL"
        )
    )
    events = Counter(
        json.dumps(
            [
                r["topic"],
                r["ce_type"],
                r["ce_source"],
                r["key"],
                {
                    k: v
                    for k, v in json.loads(r["payload"]).items()
                    if not k.endswith("_at") and k not in _FRESH
                },
            ],
            sort_keys=True,
        )
        for r in await pool.fetch(
            "SELECT topic, ce_type, ce_source, key, payload FROM outbox WHERE id > $1", mark
        )
    )
    return [findings, events]


async def agree(app: asyncpg.Pool, app_mark: int, raw: asyncpg.Pool, raw_mark: int) -> None:
    for name, a, b in zip(
        ("findings", "events"),
        await state(app, app_mark),
        await state(raw, raw_mark),
        strict=True,
    ):
        if a != b:
            raise AssertionError(
                f"{name}: only the service: {next(iter(a - b), None)}; only raw:"
                f" {next(iter(b - a), None)}"
            )


async def empty(pool: asyncpg.Pool) -> None:
    await pool.execute("DELETE FROM remediations")
    await pool.execute("DELETE FROM findings WHERE campaign_id IS NOT NULL")
