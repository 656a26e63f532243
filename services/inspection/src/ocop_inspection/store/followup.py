"""What follows a finding: remediations, due-process notices and recommendations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from ocop_inspection import domain
from ocop_inspection.store.common import Conn, in_units, lock
from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page

REMEDIATION_SORTS = {
    "deadline": Sort("deadline", "date"),
    "-deadline": Sort("deadline", "date", descending=True),
}
NOTICE_SORTS = {
    "-notified_on": Sort("notified_on", "date", descending=True),
    "reply_by": Sort("reply_by", "date"),
}
RECOMMENDATION_SORTS = {
    "-recommended_at": Sort("recommended_at", "timestamptz", descending=True),
}


def _remediation(r: asyncpg.Record) -> domain.Remediation:
    return domain.Remediation(
        id=r["id"],
        finding_id=r["finding_id"],
        producer_id=r["producer_id"],
        product_id=r["product_id"],
        campaign_id=r["campaign_id"],
        required_on=r["required_on"],
        deadline=r["deadline"],
        status=domain.RemediationStatus(r["status"]),
        completed_on=r["completed_on"],
        late=r["late"],
        overdue_on=r["overdue_on"],
    )


async def insert_remediations(
    conn: asyncpg.Connection, items: Sequence[domain.Remediation], at: datetime
) -> None:
    await conn.executemany(
        "INSERT INTO remediations (id, finding_id, producer_id, product_id, campaign_id,"
        " required_on, deadline, status, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                r.id,
                r.finding_id,
                r.producer_id,
                r.product_id,
                r.campaign_id,
                r.required_on,
                r.deadline,
                r.status.value,
                at,
            )
            for r in items
        ],
    )


async def save_remediation(conn: asyncpg.Connection, r: domain.Remediation, at: datetime) -> None:
    await conn.execute(
        "UPDATE remediations SET deadline = $2, status = $3, completed_on = $4, late = $5,"
        " overdue_on = $6, updated_at = $7 WHERE id = $1",
        r.id,
        r.deadline,
        r.status.value,
        r.completed_on,
        r.late,
        r.overdue_on,
        at,
    )


async def get_remediation(
    conn: Conn, remediation_id: UUID, *, for_update: bool = False
) -> domain.Remediation | None:
    row = await conn.fetchrow(
        f"SELECT * FROM remediations WHERE id = $1{lock(for_update)}", remediation_id
    )
    return _remediation(row) if row else None


async def remediations_of_findings(
    conn: asyncpg.Connection, finding_ids: Sequence[UUID]
) -> list[domain.Remediation]:
    rows = await conn.fetch(
        "SELECT * FROM remediations WHERE finding_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(finding_ids),
    )
    return [_remediation(r) for r in rows]


async def claim_overdue(
    conn: asyncpg.Connection, today: date, limit: int = 500
) -> list[domain.Remediation]:
    """Open remediations past their deadline, locked (replicas skip each other's rows)."""
    rows = await conn.fetch(
        "SELECT * FROM remediations WHERE status = 'open' AND deadline < $1"
        " ORDER BY deadline, id LIMIT $2 FOR UPDATE SKIP LOCKED",
        today,
        limit,
    )
    return [_remediation(r) for r in rows]


@dataclass(frozen=True)
class RemediationFilter:
    status: str | None = None
    campaign_id: UUID | None = None
    producer_id: UUID | None = None
    product_id: UUID | None = None
    due_by: date | None = None
    units: frozenset[str] | None = None  # the caller's (None: every unit)


async def list_remediations(
    conn: Conn, f: RemediationFilter, keyset: Keyset
) -> tuple[list[domain.Remediation], Page]:
    q = Query()
    for column in ("status", "campaign_id", "producer_id", "product_id"):
        value = getattr(f, column)
        if value is not None:
            q.add(f"{column} = {{}}", value)
    if f.due_by is not None:
        q.add("deadline <= {}", f.due_by)
    in_units(q, f.units)
    page = await fetch_page(
        conn, "SELECT *", q, keyset, id_column="id", count_from="FROM remediations"
    )
    return [_remediation(r) for r in page.rows], page


# ---------------------------------------------------------------- notices


def _notice(r: asyncpg.Record) -> domain.Notice:
    return domain.Notice(
        id=r["id"],
        producer_id=r["producer_id"],
        product_id=r["product_id"],
        finding_ids=tuple(r["finding_ids"]),
        proposed=domain.Proposed(r["proposed"]),
        grounds=tuple(r["grounds"]),
        notified_on=r["notified_on"],
        reply_by=r["reply_by"],
        status=domain.NoticeStatus(r["status"]),
        reply=r["reply"],
        replied_on=r["replied_on"],
        recommendation_id=r["recommendation_id"],
    )


async def insert_notice(conn: asyncpg.Connection, n: domain.Notice, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO notices VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        n.id,
        n.producer_id,
        n.product_id,
        list(n.finding_ids),
        n.proposed.value,
        list(n.grounds),
        n.notified_on,
        n.reply_by,
        n.reply,
        n.replied_on,
        n.status.value,
        n.recommendation_id,
        at,
    )


async def save_notice(conn: asyncpg.Connection, n: domain.Notice) -> None:
    await conn.execute(
        "UPDATE notices SET reply = $2, replied_on = $3, status = $4, recommendation_id = $5"
        " WHERE id = $1",
        n.id,
        n.reply,
        n.replied_on,
        n.status.value,
        n.recommendation_id,
    )


async def get_notice(
    conn: Conn, notice_id: UUID, *, for_update: bool = False
) -> domain.Notice | None:
    row = await conn.fetchrow(f"SELECT * FROM notices WHERE id = $1{lock(for_update)}", notice_id)
    return _notice(row) if row else None


@dataclass(frozen=True)
class NoticeFilter:
    status: str | None = None
    product_id: UUID | None = None
    producer_id: UUID | None = None
    units: frozenset[str] | None = None  # the caller's (None: every unit)


async def list_notices(
    conn: Conn, f: NoticeFilter, keyset: Keyset
) -> tuple[list[domain.Notice], Page]:
    q = Query()
    for column in ("status", "product_id", "producer_id"):
        value = getattr(f, column)
        if value is not None:
            q.add(f"{column} = {{}}", value)
    in_units(q, f.units)
    page = await fetch_page(conn, "SELECT *", q, keyset, id_column="id", count_from="FROM notices")
    return [_notice(r) for r in page.rows], page


# ---------------------------------------------------------------- recommendations


@dataclass(frozen=True)
class Recommendation:
    id: UUID
    kind: str
    notice_id: UUID
    producer_id: UUID
    product_id: UUID
    certificate_id: UUID | None
    grounds: tuple[str, ...]
    findings: tuple[str, ...]
    recommended_at: datetime


async def insert_recommendation(conn: asyncpg.Connection, r: Recommendation) -> None:
    await conn.execute(
        "INSERT INTO recommendations VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        r.id,
        r.kind,
        r.notice_id,
        r.producer_id,
        r.product_id,
        r.certificate_id,
        list(r.grounds),
        list(r.findings),
        r.recommended_at,
    )


def _recommendation(r: asyncpg.Record) -> Recommendation:
    return Recommendation(
        id=r["id"],
        kind=r["kind"],
        notice_id=r["notice_id"],
        producer_id=r["producer_id"],
        product_id=r["product_id"],
        certificate_id=r["certificate_id"],
        grounds=tuple(r["grounds"]),
        findings=tuple(r["findings"]),
        recommended_at=r["recommended_at"],
    )


async def get_recommendation(conn: Conn, recommendation_id: UUID) -> Recommendation | None:
    row = await conn.fetchrow("SELECT * FROM recommendations WHERE id = $1", recommendation_id)
    return _recommendation(row) if row else None


async def list_recommendations(
    conn: Conn,
    kind: str | None,
    product_id: UUID | None,
    keyset: Keyset,
    units: frozenset[str] | None = None,
) -> tuple[list[Recommendation], Page]:
    q = Query()
    if kind is not None:
        q.add("kind = {}", kind)
    if product_id is not None:
        q.add("product_id = {}", product_id)
    in_units(q, units)
    page = await fetch_page(
        conn,
        "SELECT id, kind, notice_id, producer_id, product_id, certificate_id, grounds, findings,"
        " recommended_at",
        q,
        keyset,
        id_column="id",
        count_from="FROM recommendations",
    )
    return [_recommendation(r) for r in page.rows], page
