"""Campaigns, their draws and samples, and the facts of a campaign's report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ocop_inspection import domain
from ocop_inspection.store.common import Conn, in_units, loads, lock
from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page

CAMPAIGN_SORTS = {
    "-starts_on": Sort("starts_on", "date", descending=True),
    "starts_on": Sort("starts_on", "date"),
    "name": Sort("name", "text"),
}
SAMPLE_SORTS = {
    "-risk": Sort("risk", "integer", descending=True),
    "unit": Sort("coalesce(unit, '')", "text"),
}


def _campaign(r: asyncpg.Record) -> domain.Campaign:
    return domain.Campaign(
        id=r["id"],
        name=r["name"],
        year=r["year"],
        lead_agency=r["lead_agency"],
        departments=tuple(r["departments"]),
        scope=tuple(domain.Category(s) for s in r["scope"]),
        units=tuple(r["units"]),
        target_producers=r["target_producers"],
        target_products=r["target_products"],
        starts_on=r["starts_on"],
        ends_on=r["ends_on"],
        status=domain.CampaignStatus(r["status"]),
        planned_at=r["planned_at"],
        closed_at=r["closed_at"],
        reported_at=r["reported_at"],
    )


async def insert_campaign(conn: asyncpg.Connection, c: domain.Campaign) -> None:
    await conn.execute(
        "INSERT INTO campaigns (id, name, year, lead_agency, departments, scope, units,"
        " target_producers, target_products, starts_on, ends_on, status, planned_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        c.id,
        c.name,
        c.year,
        c.lead_agency,
        list(c.departments),
        [s.value for s in c.scope],
        list(c.units),
        c.target_producers,
        c.target_products,
        c.starts_on,
        c.ends_on,
        c.status.value,
        c.planned_at,
    )


async def update_campaign(conn: asyncpg.Connection, c: domain.Campaign) -> None:
    await conn.execute(
        "UPDATE campaigns SET name = $2, lead_agency = $3, departments = $4, scope = $5,"
        " units = $6, target_producers = $7, target_products = $8, starts_on = $9,"
        " ends_on = $10, status = $11, closed_at = $12, reported_at = $13 WHERE id = $1",
        c.id,
        c.name,
        c.lead_agency,
        list(c.departments),
        [s.value for s in c.scope],
        list(c.units),
        c.target_producers,
        c.target_products,
        c.starts_on,
        c.ends_on,
        c.status.value,
        c.closed_at,
        c.reported_at,
    )


async def save_report(conn: asyncpg.Connection, campaign_id: UUID, report: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE campaigns SET report = $2::jsonb WHERE id = $1", campaign_id, json.dumps(report)
    )


async def get_campaign(
    conn: Conn, campaign_id: UUID, *, for_update: bool = False
) -> domain.Campaign | None:
    row = await conn.fetchrow(
        f"SELECT * FROM campaigns WHERE id = $1{lock(for_update)}", campaign_id
    )
    return _campaign(row) if row else None


@dataclass(frozen=True)
class CampaignFilter:
    status: str | None = None
    year: int | None = None
    unit: str | None = None


async def list_campaigns(
    conn: Conn, f: CampaignFilter, keyset: Keyset
) -> tuple[list[domain.Campaign], Page]:
    q = Query()
    if f.status is not None:
        q.add("status = {}", f.status)
    if f.year is not None:
        q.add("year = {}", f.year)
    if f.unit is not None:
        q.add("{} = ANY(units)", f.unit)
    page = await fetch_page(
        conn, "SELECT *", q, keyset, id_column="id", count_from="FROM campaigns"
    )
    return [_campaign(r) for r in page.rows], page


# ---------------------------------------------------------------- draws and samples


@dataclass(frozen=True)
class Draw:
    id: UUID
    campaign_id: UUID
    method: domain.Method
    seed: int | None
    parameters: dict[str, Any]
    population: int
    drawn: int
    drawn_at: datetime


async def insert_draw(conn: asyncpg.Connection, d: Draw, items: Sequence[domain.Drawn]) -> None:
    await conn.execute(
        "INSERT INTO draws VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)",
        d.id,
        d.campaign_id,
        d.method.value,
        d.seed,
        json.dumps(d.parameters),
        d.population,
        d.drawn,
        d.drawn_at,
    )
    await conn.executemany(
        "INSERT INTO sample_products VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT DO NOTHING",
        [
            (
                d.campaign_id,
                i.product_id,
                i.producer_id,
                i.unit,
                d.id,
                d.method.value,
                i.risk,
                list(i.reasons),
            )
            for i in items
        ],
    )
    producers: dict[UUID, domain.Drawn] = {}
    for i in items:
        producers.setdefault(i.producer_id, i)
    await conn.executemany(
        "INSERT INTO sample_producers VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        [(d.campaign_id, p, i.unit, d.method.value, list(i.reasons)) for p, i in producers.items()],
    )


async def add_sample_producer(
    conn: asyncpg.Connection, campaign_id: UUID, producer_id: UUID, unit: str | None, reason: str
) -> bool:
    status = await conn.execute(
        "INSERT INTO sample_producers VALUES ($1, $2, $3, 'manual', $4) ON CONFLICT DO NOTHING",
        campaign_id,
        producer_id,
        unit,
        [reason],
    )
    return bool(status.endswith(" 1"))


def _draw(r: asyncpg.Record) -> Draw:
    return Draw(
        id=r["id"],
        campaign_id=r["campaign_id"],
        method=domain.Method(r["method"]),
        seed=r["seed"],
        parameters=loads(r["parameters"]),
        population=r["population"],
        drawn=r["drawn"],
        drawn_at=r["drawn_at"],
    )


async def draws_of(conn: Conn, campaign_id: UUID) -> list[Draw]:
    rows = await conn.fetch(
        "SELECT * FROM draws WHERE campaign_id = $1 ORDER BY drawn_at, id", campaign_id
    )
    return [_draw(r) for r in rows]


async def sampled_products(conn: Conn, campaign_id: UUID) -> set[UUID]:
    rows = await conn.fetch(
        "SELECT product_id FROM sample_products WHERE campaign_id = $1", campaign_id
    )
    return {r["product_id"] for r in rows}


async def in_sample(conn: Conn, campaign_id: UUID, producer_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM sample_producers WHERE campaign_id = $1"
            " AND producer_id = $2)",
            campaign_id,
            producer_id,
        )
    )


@dataclass(frozen=True)
class SampleRow:
    product_id: UUID
    producer_id: UUID
    unit: str | None
    method: str
    risk: int
    reasons: tuple[str, ...]
    draw_id: UUID


@dataclass(frozen=True)
class SampleFilter:
    producer_id: UUID | None = None
    unit: str | None = None
    method: str | None = None
    units: frozenset[str] | None = None  # the caller's (None: every unit)


async def list_sample(
    conn: Conn, campaign_id: UUID, f: SampleFilter, keyset: Keyset
) -> tuple[list[SampleRow], Page]:
    q = Query()
    q.add("campaign_id = {}", campaign_id)
    if f.producer_id is not None:
        q.add("producer_id = {}", f.producer_id)
    if f.unit is not None:
        q.add("unit = {}", f.unit)
    if f.method is not None:
        q.add("method = {}", f.method)
    in_units(q, f.units)
    page = await fetch_page(
        conn,
        "SELECT product_id, producer_id, unit, method, risk, reasons, draw_id",
        q,
        keyset,
        id_column="product_id",
        count_from="FROM sample_products",
    )
    rows = [
        SampleRow(
            r["product_id"],
            r["producer_id"],
            r["unit"],
            r["method"],
            r["risk"],
            tuple(r["reasons"]),
            r["draw_id"],
        )
        for r in page.rows
    ]
    return rows, page


async def sample_ids(conn: Conn, campaign_id: UUID) -> tuple[set[UUID], set[UUID]]:
    """The producers and the products of a campaign's sample."""
    producers = await conn.fetch(
        "SELECT producer_id FROM sample_producers WHERE campaign_id = $1", campaign_id
    )
    products = await conn.fetch(
        "SELECT product_id FROM sample_products WHERE campaign_id = $1", campaign_id
    )
    return {r["producer_id"] for r in producers}, {r["product_id"] for r in products}


async def sample_producer_count(conn: Conn, campaign_id: UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM sample_producers WHERE campaign_id = $1", campaign_id
        )
    )


# ---------------------------------------------------------------- the report's facts


async def report_facts(
    conn: Conn, campaign_id: UUID
) -> tuple[list[domain.VisitFacts], list[domain.FindingFacts]]:
    visits = await conn.fetch(
        "SELECT id, producer_id, unit, visited_on, product_ids, minutes FROM visits"
        " WHERE campaign_id = $1",
        campaign_id,
    )
    findings = await conn.fetch(
        "SELECT visit_id, product_id, category, severity, outcome FROM findings"
        " WHERE campaign_id = $1",
        campaign_id,
    )
    return (
        [
            domain.VisitFacts(
                r["id"],
                r["producer_id"],
                r["unit"],
                r["visited_on"],
                tuple(r["product_ids"]),
                r["minutes"],
            )
            for r in visits
        ],
        [domain.FindingFacts(*r.values()) for r in findings],
    )
