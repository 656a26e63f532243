"""Promotion events and participations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page
from ocop_trade import domain
from ocop_trade.store.common import Conn, lock


def _promotion(row: asyncpg.Record) -> domain.Promotion:
    return domain.Promotion(
        id=row["id"],
        kind=domain.PromotionKind(row["kind"]),
        name=row["name"],
        organiser=row["organiser"],
        venue=row["venue"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        capacity=row["capacity"],
        admits_other_goods=row["admits_other_goods"],
        status=domain.PromotionStatus(row["status"]),
        unit_code=row["unit_code"],
        district_code=row["district_code"],
        cancel_reason=row["cancel_reason"],
    )


async def get_promotion(
    conn: Conn, event_id: UUID, *, for_update: bool = False
) -> domain.Promotion | None:
    row = await conn.fetchrow(f"SELECT * FROM promotions WHERE id = $1{lock(for_update)}", event_id)
    return _promotion(row) if row else None


async def save_promotion(conn: asyncpg.Connection, p: domain.Promotion, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO promotions (id, kind, name, organiser, venue, unit_code, district_code,"
        " starts_on, ends_on, capacity, admits_other_goods, status, cancel_reason, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
        " ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,"
        " organiser = EXCLUDED.organiser, venue = EXCLUDED.venue, unit_code = EXCLUDED.unit_code,"
        " district_code = EXCLUDED.district_code, starts_on = EXCLUDED.starts_on,"
        " ends_on = EXCLUDED.ends_on, capacity = EXCLUDED.capacity,"
        " admits_other_goods = EXCLUDED.admits_other_goods, status = EXCLUDED.status,"
        " cancel_reason = EXCLUDED.cancel_reason, updated_at = EXCLUDED.updated_at",
        p.id,
        p.kind.value,
        p.name,
        p.organiser,
        p.venue,
        p.unit_code,
        p.district_code,
        p.starts_on,
        p.ends_on,
        p.capacity,
        p.admits_other_goods,
        p.status.value,
        p.cancel_reason,
        at,
    )


PROMOTION_SORTS = {
    "starts_on": Sort("e.starts_on", "date"),
    "-starts_on": Sort("e.starts_on", "date", descending=True),
}


@dataclass(frozen=True)
class PromotionFilter:
    """``from_date``/``to_date``: events overlapping that range; ``unit``: commune or
    pre-2025 district; ``producer_id``/``product_id``: events they took part in."""

    kind: domain.PromotionKind | None = None
    status: domain.PromotionStatus | None = None
    from_date: date | None = None
    to_date: date | None = None
    unit: str | None = None
    producer_id: UUID | None = None
    product_id: UUID | None = None


async def list_promotions(
    conn: Conn, f: PromotionFilter, keyset: Keyset
) -> tuple[list[domain.Promotion], Page]:
    q = Query()
    if f.kind is not None:
        q.add("e.kind = {}", f.kind.value)
    if f.status is not None:
        q.add("e.status = {}", f.status.value)
    if f.from_date is not None:
        q.add("e.ends_on >= {}", f.from_date)
    if f.to_date is not None:
        q.add("e.starts_on <= {}", f.to_date)
    if f.unit is not None:
        q.add("(e.unit_code = {} OR e.district_code = {})", f.unit, f.unit)
    if f.producer_id is not None:
        q.add(
            "e.id IN (SELECT event_id FROM participations WHERE status = 'accepted'"
            " AND producer_id = {})",
            f.producer_id,
        )
    if f.product_id is not None:
        q.add(
            "e.id IN (SELECT event_id FROM participations WHERE status = 'accepted'"
            " AND {} = ANY(product_ids))",
            f.product_id,
        )
    page = await fetch_page(
        conn, "SELECT e.*", q, keyset, id_column="e.id", count_from="FROM promotions e"
    )
    return [_promotion(r) for r in page.rows], page


# ---------------------------------------------------------------- participations


@dataclass(frozen=True)
class Participation:
    id: UUID
    event_id: UUID
    producer_id: UUID
    product_ids: tuple[UUID, ...]
    other_goods: tuple[str, ...]
    stalls: int
    status: domain.ParticipationStatus
    reasons: tuple[str, ...]
    decided_at: datetime

    @property
    def application(self) -> domain.Application:
        return domain.Application(
            self.id,
            self.event_id,
            self.producer_id,
            self.product_ids,
            self.other_goods,
            self.stalls,
        )


def _participation(row: asyncpg.Record) -> Participation:
    return Participation(
        id=row["id"],
        event_id=row["event_id"],
        producer_id=row["producer_id"],
        product_ids=tuple(row["product_ids"]),
        other_goods=tuple(row["other_goods"]),
        stalls=row["stalls"],
        status=domain.ParticipationStatus(row["status"]),
        reasons=tuple(row["reasons"]),
        decided_at=row["decided_at"],
    )


async def get_participation(
    conn: Conn, participation_id: UUID, *, for_update: bool = False
) -> Participation | None:
    row = await conn.fetchrow(
        f"SELECT * FROM participations WHERE id = $1{lock(for_update)}", participation_id
    )
    return _participation(row) if row else None


async def save_participation(conn: asyncpg.Connection, p: Participation) -> None:
    await conn.execute(
        "INSERT INTO participations (id, event_id, producer_id, product_ids, other_goods, stalls,"
        " status, reasons, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, reasons = EXCLUDED.reasons,"
        " decided_at = EXCLUDED.decided_at",
        p.id,
        p.event_id,
        p.producer_id,
        list(p.product_ids),
        list(p.other_goods),
        p.stalls,
        p.status.value,
        list(p.reasons),
        p.decided_at,
    )


async def stalls_taken(conn: Conn, event_id: UUID) -> tuple[int, int]:
    """(accepted participations, stalls they hold) of an event."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(stalls), 0) AS stalls FROM participations"
        " WHERE event_id = $1 AND status = 'accepted'",
        event_id,
    )
    return int(row["n"]), int(row["stalls"])


async def accepted_participation(
    conn: Conn, event_id: UUID, producer_id: UUID
) -> Participation | None:
    row = await conn.fetchrow(
        "SELECT * FROM participations WHERE event_id = $1 AND producer_id = $2"
        " AND status = 'accepted'",
        event_id,
        producer_id,
    )
    return _participation(row) if row else None


async def accepted_participations(conn: Conn, event_id: UUID) -> list[Participation]:
    rows = await conn.fetch(
        "SELECT * FROM participations WHERE event_id = $1 AND status = 'accepted' ORDER BY id",
        event_id,
    )
    return [_participation(r) for r in rows]


PARTICIPATION_SORTS = {
    "decided_at": Sort("p.decided_at", "timestamptz"),
    "-decided_at": Sort("p.decided_at", "timestamptz", descending=True),
}


@dataclass(frozen=True)
class ParticipationFilter:
    event_id: UUID | None = None
    producer_id: UUID | None = None
    product_id: UUID | None = None
    status: domain.ParticipationStatus | None = None
    kind: domain.PromotionKind | None = None
    from_date: date | None = None
    to_date: date | None = None


async def list_participations(
    conn: Conn, f: ParticipationFilter, keyset: Keyset
) -> tuple[list[Participation], Page]:
    q = Query()
    tables = "FROM participations p"
    if f.kind is not None or f.from_date is not None or f.to_date is not None:
        tables += " JOIN promotions e ON e.id = p.event_id"
    if f.event_id is not None:
        q.add("p.event_id = {}", f.event_id)
    if f.producer_id is not None:
        q.add("p.producer_id = {}", f.producer_id)
    if f.product_id is not None:
        q.add("{} = ANY(p.product_ids)", f.product_id)
    if f.status is not None:
        q.add("p.status = {}", f.status.value)
    if f.kind is not None:
        q.add("e.kind = {}", f.kind.value)
    if f.from_date is not None:
        q.add("e.ends_on >= {}", f.from_date)
    if f.to_date is not None:
        q.add("e.starts_on <= {}", f.to_date)
    page = await fetch_page(conn, "SELECT p.*", q, keyset, id_column="p.id", count_from=tables)
    return [_participation(r) for r in page.rows], page
