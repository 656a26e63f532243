"""Rounds, their entries, councils and score sheets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from ocop_evaluation import domain
from ocop_evaluation.store.common import Conn, lock
from ocop_runtime.audit import AUDIT_COLUMNS
from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page


def _round(row: asyncpg.Record) -> domain.Round:
    return domain.Round(
        id=row["id"],
        year=row["year"],
        level=domain.Level(row["level"]),
        name=row["name"],
        status=domain.RoundStatus(row["status"]),
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
        override=row["override"],
        decision_number=row["decision_number"],
        decision_date=row["decision_date"],
    )


async def insert_round(conn: asyncpg.Connection, r: domain.Round) -> None:
    await conn.execute(
        "INSERT INTO rounds (id, year, level, name, status, opened_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        r.id,
        r.year,
        r.level.value,
        r.name,
        r.status.value,
        r.opened_at,
    )


async def get_round(conn: Conn, round_id: UUID, *, for_update: bool = False) -> domain.Round | None:
    row = await conn.fetchrow(f"SELECT * FROM rounds WHERE id = $1{lock(for_update)}", round_id)
    return _round(row) if row else None


async def open_round_id(conn: Conn, year: int, level: domain.Level) -> UUID | None:
    """The open round of ``year`` at ``level`` (there is at most one)."""
    value = await conn.fetchval(
        "SELECT id FROM rounds WHERE year = $1 AND level = $2 AND status = $3",
        year,
        level.value,
        domain.RoundStatus.OPEN.value,
    )
    return value if isinstance(value, UUID) else None


ROUND_SORTS = {
    "-opened_at": Sort("r.opened_at", "timestamptz", descending=True),
    "opened_at": Sort("r.opened_at", "timestamptz"),
}
"""The orders of the round list; the first (newest first) is the default."""


@dataclass(frozen=True)
class RoundFilter:
    year: int | None = None
    level: domain.Level | None = None
    status: domain.RoundStatus | None = None


async def list_rounds(
    conn: Conn, f: RoundFilter, keyset: Keyset
) -> tuple[list[tuple[domain.Round, int]], Page]:
    """One page of rounds with their number of entries, in ``keyset``'s order."""
    q = Query()
    if f.year is not None:
        q.add("r.year = {}", f.year)
    if f.level is not None:
        q.add("r.level = {}", f.level.value)
    if f.status is not None:
        q.add("r.status = {}", f.status.value)
    page = await fetch_page(
        conn,
        "SELECT r.*, (SELECT count(*) FROM entries e WHERE e.round_id = r.id) AS entries",
        q,
        keyset,
        id_column="r.id",
        count_from="FROM rounds r",
    )
    return [(_round(r), int(r["entries"])) for r in page.rows], page


async def close_round(
    conn: asyncpg.Connection, round_id: UUID, at: datetime, override: str | None
) -> None:
    await conn.execute(
        "UPDATE rounds SET status = $2, closed_at = $3, override = $4 WHERE id = $1",
        round_id,
        domain.RoundStatus.CLOSED.value,
        at,
        override,
    )


async def decide_round(conn: asyncpg.Connection, round_id: UUID, number: str, day: date) -> None:
    await conn.execute(
        "UPDATE rounds SET status = $2, decision_number = $3, decision_date = $4 WHERE id = $1",
        round_id,
        domain.RoundStatus.DECIDED.value,
        number,
        day,
    )


# ---------------------------------------------------------------- entries

_ENTRY_COLUMNS = (
    "application_id",
    "product_id",
    "producer_id",
    "kind",
    "regime",
    "product_set",
    "commune_code",
    "district_code",
    "round_year",
    "level",
    "submitted_on",
    "round_id",
    "status",
    "created_at",
)
_LEFT_ROUND = sorted(s.value for s in domain.LEFT_ROUND)


def _entry(row: asyncpg.Record) -> domain.Entry:
    return domain.Entry(
        application_id=row["application_id"],
        product_id=row["product_id"],
        producer_id=row["producer_id"],
        kind=domain.EntryKind(row["kind"]),
        regime=row["regime"],
        product_set=row["product_set"],
        commune_code=row["commune_code"],
        district_code=row["district_code"],
        round_year=row["round_year"],
        level=domain.Level(row["level"]),
        submitted_on=row["submitted_on"],
        round_id=row["round_id"],
        status=domain.EntryStatus(row["status"]),
        created_at=row["created_at"],
        result=json.loads(row["result"]) if row["result"] else None,
    )


async def insert_entry(conn: asyncpg.Connection, e: domain.Entry) -> bool:
    """Whether ``e`` was inserted (False: the application already has an entry at its level)."""
    values = {
        **{k: getattr(e, k) for k in _ENTRY_COLUMNS},
        "kind": e.kind.value,
        "level": e.level.value,
        "status": e.status.value,
    }
    status = await conn.execute(
        f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (application_id, level) DO NOTHING",
        *(values[k] for k in _ENTRY_COLUMNS),
    )
    return bool(status.endswith(" 1"))


async def attach_waiting(
    conn: asyncpg.Connection, round_id: UUID, year: int, level: domain.Level
) -> list[domain.Entry]:
    """Put the entries waiting for a round of ``year`` at ``level`` into ``round_id``."""
    rows = await conn.fetch(
        "UPDATE entries SET round_id = $1, status = $2"
        " WHERE round_id IS NULL AND status = $3 AND round_year = $4 AND level = $5"
        " RETURNING *",
        round_id,
        domain.EntryStatus.ENTERED.value,
        domain.EntryStatus.WAITING.value,
        year,
        level.value,
    )
    return [_entry(r) for r in rows]


async def get_entry(
    conn: Conn, application_id: UUID, round_id: UUID | None = None
) -> domain.Entry | None:
    """The application's entry in ``round_id``, or its latest entry at any level."""
    row = await conn.fetchrow(
        "SELECT * FROM entries WHERE application_id = $1"
        " AND ($2::uuid IS NULL OR round_id = $2) ORDER BY created_at DESC LIMIT 1",
        application_id,
        round_id,
    )
    return _entry(row) if row else None


async def round_entries(conn: Conn, round_id: UUID) -> list[domain.Entry]:
    """The entries still in the round (not withdrawn or returned)."""
    rows = await conn.fetch(
        "SELECT * FROM entries WHERE round_id = $1 AND status <> ALL($2::text[])"
        " ORDER BY created_at, application_id",
        round_id,
        _LEFT_ROUND,
    )
    return [_entry(r) for r in rows]


ENTRY_SORTS = {
    "created_at": Sort("e.created_at", "timestamptz"),
    "-created_at": Sort("e.created_at", "timestamptz", descending=True),
}
"""The orders of a round's entries; the first (in the order they joined) is the default."""


@dataclass(frozen=True)
class EntryFilter:
    round_id: UUID
    status: domain.EntryStatus | None = None  # None: the entries still in the round
    product_id: UUID | None = None


async def list_entries(
    conn: Conn, f: EntryFilter, keyset: Keyset
) -> tuple[list[domain.Entry], Page]:
    """One page of a round's entries, in ``keyset``'s order (an application has one entry in a
    round, so its id breaks ties)."""
    q = Query()
    q.add("e.round_id = {}", f.round_id)
    if f.status is None:
        q.add("e.status <> ALL({}::text[])", _LEFT_ROUND)
    else:
        q.add("e.status = {}", f.status.value)
    if f.product_id is not None:
        q.add("e.product_id = {}", f.product_id)
    page = await fetch_page(
        conn, "SELECT e.*", q, keyset, id_column="e.application_id", count_from="FROM entries e"
    )
    return [_entry(r) for r in page.rows], page


async def product_entries(conn: Conn, product_id: UUID) -> list[domain.Entry]:
    """Every entry of a product's applications, at every level, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM entries WHERE product_id = $1 ORDER BY created_at", product_id
    )
    return [_entry(r) for r in rows]


async def set_entry_status(
    conn: asyncpg.Connection,
    application_id: UUID,
    level: domain.Level,
    status: domain.EntryStatus,
    result: dict[str, Any] | None,
) -> None:
    await conn.execute(
        "UPDATE entries SET status = $3, result = coalesce($4::jsonb, result)"
        " WHERE application_id = $1 AND level = $2",
        application_id,
        level.value,
        status.value,
        json.dumps(result) if result is not None else None,
    )


async def set_entries_status(
    conn: asyncpg.Connection,
    keys: Sequence[tuple[UUID, domain.Level]],
    status: domain.EntryStatus,
) -> None:
    await conn.executemany(
        "UPDATE entries SET status = $3 WHERE application_id = $1 AND level = $2",
        [(application_id, level.value, status.value) for application_id, level in keys],
    )


# ---------------------------------------------------------------- councils and sheets


async def replace_council(
    conn: asyncpg.Connection, round_id: UUID, seats: Sequence[domain.CouncilSeat]
) -> None:
    await conn.execute("DELETE FROM council_members WHERE round_id = $1", round_id)
    await conn.executemany(
        "INSERT INTO council_members (round_id, member_id, name, role, unit_code, ties)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        [(round_id, s.member_id, s.name, s.role.value, s.unit_code, list(s.ties)) for s in seats],
    )


async def council(conn: Conn, round_id: UUID) -> list[domain.CouncilSeat]:
    rows = await conn.fetch(
        "SELECT * FROM council_members WHERE round_id = $1 ORDER BY role, member_id", round_id
    )
    return [
        domain.CouncilSeat(
            r["member_id"],
            r["name"],
            domain.CouncilRole(r["role"]),
            r["unit_code"],
            tuple(r["ties"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class SheetContext:
    """What handing in a score sheet reads, in one query."""

    round: domain.Round
    member: bool  # the sheet's member sits on the round's council
    entry: domain.Entry | None  # the application's entry in the round
    clock_offset: int


async def sheet_context(
    conn: Conn, round_id: UUID, application_id: UUID, member_id: str
) -> SheetContext | None:
    """The round (None: no such round), whether ``member_id`` sits on its council, the
    application's entry in it and the clock's offset, in one round trip."""
    row = await conn.fetchrow(
        "SELECT r AS round,"
        " EXISTS (SELECT 1 FROM council_members c WHERE c.round_id = r.id"
        "         AND c.member_id = $3) AS member,"
        " (SELECT e FROM entries e WHERE e.application_id = $2 AND e.round_id = r.id"
        "   ORDER BY e.created_at DESC LIMIT 1) AS entry,"
        " (SELECT offset_days FROM clock) AS clock_offset"
        " FROM rounds r WHERE r.id = $1",
        round_id,
        application_id,
        member_id,
    )
    if row is None:
        return None
    entry = row["entry"]
    return SheetContext(
        _round(row["round"]),
        row["member"],
        _entry(entry) if entry is not None else None,
        int(row["clock_offset"]),
    )


async def upsert_sheet(
    conn: asyncpg.Connection,
    round_id: UUID,
    application_id: UUID,
    member_id: str,
    points: dict[str, Decimal],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO score_sheets VALUES ($1, $2, $3, $4::jsonb, $5)"
        " ON CONFLICT (round_id, application_id, member_id)"
        " DO UPDATE SET points = EXCLUDED.points, submitted_at = EXCLUDED.submitted_at",
        round_id,
        application_id,
        member_id,
        json.dumps({k: str(v) for k, v in points.items()}),
        at,
    )


async def save_sheet(
    conn: asyncpg.Connection,
    round_id: UUID,
    application_id: UUID,
    member_id: str,
    points: dict[str, Decimal],
    at: datetime,
    audit: Sequence[Any],
) -> bool:
    """:func:`upsert_sheet` and the audit row (``ocop_runtime.audit.audit_values``) in one
    statement, outside any transaction, and only while the round is open (its row is share-
    locked, so a closing that holds it is waited for and its outcome seen); False when the
    round is not open any more (nothing written)."""
    saved = await conn.fetchval(
        "WITH still_open AS (SELECT 1 FROM rounds WHERE id = $1::uuid AND status = 'open'"
        "  FOR SHARE),"
        " sheet AS (INSERT INTO score_sheets"
        "  (round_id, application_id, member_id, points, submitted_at)"
        "  SELECT $1::uuid, $2::uuid, $3::text, $4::jsonb, $5::timestamptz FROM still_open"
        "  ON CONFLICT (round_id, application_id, member_id)"
        "  DO UPDATE SET points = EXCLUDED.points, submitted_at = EXCLUDED.submitted_at"
        "  RETURNING 1),"
        f" audited AS (INSERT INTO audit_log ({AUDIT_COLUMNS})"
        "  SELECT $6::text, $7::text[], $8::text[], $9::text, $10::text, $11::text, $12::text,"
        "  $13::text, $14::text, $15::text FROM sheet RETURNING 1)"
        " SELECT count(*) FROM sheet",
        round_id,
        application_id,
        member_id,
        json.dumps({k: str(v) for k, v in points.items()}),
        at,
        *audit,
    )
    return bool(saved)


async def round_sheets(conn: Conn, round_id: UUID) -> dict[UUID, list[domain.MemberScores]]:
    """The sheets handed in for each application of the round."""
    sheets: dict[UUID, list[domain.MemberScores]] = {}
    for s in await conn.fetch(
        "SELECT application_id, member_id, points FROM score_sheets WHERE round_id = $1",
        round_id,
    ):
        points = {k: Decimal(v) for k, v in json.loads(s["points"]).items()}
        sheets.setdefault(s["application_id"], []).append(
            domain.MemberScores(s["member_id"], points)
        )
    return sheets


async def delete_sheets(conn: asyncpg.Connection, round_id: UUID, application_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM score_sheets WHERE round_id = $1 AND application_id = $2",
        round_id,
        application_id,
    )
