"""Visits and their findings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from uuid import UUID

import asyncpg

from ocop_inspection import domain
from ocop_inspection.store.common import Conn, in_units, loads
from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page

VISIT_SORTS = {
    "-visited_on": Sort("visited_on", "date", descending=True),
    "visited_on": Sort("visited_on", "date"),
}
FINDING_SORTS = {
    "-visited_on": Sort("visited_on", "date", descending=True),
    "visited_on": Sort("visited_on", "date"),
    "severity": Sort(
        "CASE severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 ELSE 2 END", "integer"
    ),
}


def _visit(r: asyncpg.Record) -> domain.Visit:
    return domain.Visit(
        id=r["id"],
        campaign_id=r["campaign_id"],
        producer_id=r["producer_id"],
        visited_on=r["visited_on"],
        product_ids=tuple(r["product_ids"]),
        unit=r["unit"],
        minutes=r["minutes"],
        reason_outside_sample=r["reason_outside_sample"],
        recorded_by=r["recorded_by"],
        recorded_at=r["recorded_at"],
    )


async def insert_visit(conn: asyncpg.Connection, v: domain.Visit) -> None:
    await conn.execute(
        "INSERT INTO visits VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        v.id,
        v.campaign_id,
        v.producer_id,
        v.visited_on,
        list(v.product_ids),
        v.unit,
        v.minutes,
        v.reason_outside_sample,
        v.recorded_by,
        v.recorded_at,
    )


async def get_visit(conn: Conn, visit_id: UUID) -> domain.Visit | None:
    row = await conn.fetchrow("SELECT * FROM visits WHERE id = $1", visit_id)
    return _visit(row) if row else None


@dataclass(frozen=True)
class VisitFilter:
    campaign_id: UUID | None = None
    producer_id: UUID | None = None
    product_id: UUID | None = None
    unit: str | None = None
    visited_from: date | None = None
    visited_to: date | None = None
    units: frozenset[str] | None = None  # the caller's (None: every unit)


async def list_visits(
    conn: Conn, f: VisitFilter, keyset: Keyset
) -> tuple[list[domain.Visit], Page]:
    q = Query()
    if f.campaign_id is not None:
        q.add("campaign_id = {}", f.campaign_id)
    if f.producer_id is not None:
        q.add("producer_id = {}", f.producer_id)
    if f.product_id is not None:
        q.add("{} = ANY(product_ids)", f.product_id)
    if f.unit is not None:
        q.add("unit = {}", f.unit)
    if f.visited_from is not None:
        q.add("visited_on >= {}", f.visited_from)
    if f.visited_to is not None:
        q.add("visited_on <= {}", f.visited_to)
    in_units(q, f.units)
    page = await fetch_page(conn, "SELECT *", q, keyset, id_column="id", count_from="FROM visits")
    return [_visit(r) for r in page.rows], page


# ---------------------------------------------------------------- findings


def _finding(r: asyncpg.Record, deadline: date | None = None) -> domain.Finding:
    lab = loads(r["lab_sample"])
    return domain.Finding(
        id=r["id"],
        visit_id=r["visit_id"],
        campaign_id=r["campaign_id"],
        producer_id=r["producer_id"],
        product_id=r["product_id"],
        category=domain.Category(r["category"]),
        severity=domain.Severity(r["severity"]),
        outcome=domain.Outcome(r["outcome"]),
        visited_on=r["visited_on"],
        criterion=r["criterion"],
        evidence=tuple(r["evidence"]),
        lab_sample=(
            domain.LabSample(**{**lab, "result": domain.LabResult(lab["result"])}) if lab else None
        ),
        note=r["note"],
        remediation_deadline=deadline,
        recorded_at=r["recorded_at"],
    )


def _lab_json(f: domain.Finding) -> str | None:
    if f.lab_sample is None:
        return None
    return json.dumps({**asdict(f.lab_sample), "result": f.lab_sample.result.value})


async def insert_findings(conn: asyncpg.Connection, findings: Sequence[domain.Finding]) -> None:
    await conn.executemany(
        "INSERT INTO findings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12,"
        " $13, $14)",
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
                _lab_json(f),
                f.outcome.value,
                f.note,
                f.visited_on,
                f.recorded_at,
            )
            for f in findings
        ],
    )


_FINDING = "SELECT f.*, r.deadline FROM findings f LEFT JOIN remediations r ON r.finding_id = f.id"


async def existing_findings(conn: Conn, ids: Sequence[UUID]) -> dict[UUID, domain.Finding]:
    rows = await conn.fetch(f"{_FINDING} WHERE f.id = ANY($1::uuid[])", list(ids))
    return {r["id"]: _finding(r, r["deadline"]) for r in rows}


async def get_finding(conn: Conn, finding_id: UUID) -> domain.Finding | None:
    row = await conn.fetchrow(f"{_FINDING} WHERE f.id = $1", finding_id)
    return _finding(row, row["deadline"]) if row else None


@dataclass(frozen=True)
class FindingFilter:
    campaign_id: UUID | None = None
    visit_id: UUID | None = None
    producer_id: UUID | None = None
    product_id: UUID | None = None
    category: str | None = None
    severity: str | None = None
    outcome: str | None = None
    units: frozenset[str] | None = None  # the caller's (None: every unit)


async def list_findings(
    conn: Conn, f: FindingFilter, keyset: Keyset
) -> tuple[list[domain.Finding], Page]:
    q = Query()
    for column in ("campaign_id", "visit_id", "producer_id", "product_id"):
        value = getattr(f, column)
        if value is not None:
            q.add(f"f.{column} = {{}}", value)
    for column in ("category", "severity", "outcome"):
        value = getattr(f, column)
        if value is not None:
            q.add(f"f.{column} = {{}}", value)
    in_units(q, f.units, "f.producer_id")
    page = await fetch_page(
        conn,
        "SELECT f.*, r.deadline",
        q,
        keyset,
        id_column="f.id",
        count_from="FROM findings f",
        page_from="FROM findings f LEFT JOIN remediations r ON r.finding_id = f.id",
    )
    return [_finding(r, r["deadline"]) for r in page.rows], page
