"""asyncpg queries on the registry schema; no rules."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from ocop_registry.domain import LegalForm, Producer, UnitVersion
from ocop_registry.units import AdminUnit, Succession

_COLUMNS = "id, name, legal_form, commune_code, version, registered_at, updated_at"


def _producer(row: asyncpg.Record) -> Producer:
    return Producer(
        id=row["id"],
        name=row["name"],
        legal_form=LegalForm(row["legal_form"]),
        commune_code=row["commune_code"],
        version=row["version"],
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
    )


async def insert_producer(conn: asyncpg.Connection, p: Producer) -> None:
    await conn.execute(
        f"INSERT INTO producers ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        p.id,
        p.name,
        p.legal_form.value,
        p.commune_code,
        p.version,
        p.registered_at,
        p.updated_at,
    )


async def save_producer(conn: asyncpg.Connection, p: Producer) -> None:
    await conn.execute(
        "UPDATE producers SET name = $2, commune_code = $3, version = $4, updated_at = $5"
        " WHERE id = $1",
        p.id,
        p.name,
        p.commune_code,
        p.version,
        p.updated_at,
    )


async def get_producer(
    conn: asyncpg.Connection | asyncpg.Pool, producer_id: UUID, *, for_update: bool = False
) -> Producer | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM producers WHERE id = $1{lock}", producer_id)
    return _producer(row) if row else None


async def list_producers(
    pool: asyncpg.Pool,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
    legal_form: LegalForm | None,
    commune_code: str | None,
) -> tuple[list[Producer], int]:
    """A page in registration order (keyset on ``(registered_at, id)``) and the filtered total."""
    where = ["($1::text IS NULL OR legal_form = $1)", "($2::text IS NULL OR commune_code = $2)"]
    args: list[object] = [legal_form.value if legal_form else None, commune_code]
    total = await pool.fetchval(
        f"SELECT count(*) FROM producers WHERE {' AND '.join(where)}", *args
    )
    if after is not None:
        where.append("(registered_at, id) > ($3, $4)")
        args += [after[0], after[1]]
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM producers WHERE {' AND '.join(where)}"
        f" ORDER BY registered_at, id LIMIT {int(limit)}",
        *args,
    )
    return [_producer(r) for r in rows], total


async def load_admin_units(
    conn: asyncpg.Connection, units: list[AdminUnit], successions: list[Succession]
) -> None:
    """Upsert the shipped unit data (idempotent: corrections to names or dates apply)."""
    await conn.executemany(
        "INSERT INTO admin_units (code, valid_from, valid_to, level, kind, name, parent_code)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code, valid_from) DO UPDATE SET"
        " valid_to = EXCLUDED.valid_to, level = EXCLUDED.level, kind = EXCLUDED.kind,"
        " name = EXCLUDED.name, parent_code = EXCLUDED.parent_code",
        [(u.code, u.valid_from, u.valid_to, u.level, u.kind, u.name, u.parent_code) for u in units],
    )
    await conn.executemany(
        "INSERT INTO admin_unit_successions VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(s.old.code, s.old.valid_from, s.new.code, s.new.valid_from) for s in successions],
    )


async def commune_versions(conn: asyncpg.Connection, code: str) -> list[UnitVersion]:
    rows = await conn.fetch(
        "SELECT u.code, u.name, u.valid_from, u.valid_to,"
        " coalesce(array_agg(s.new_code ORDER BY s.new_code)"
        "   FILTER (WHERE s.new_code IS NOT NULL), '{}') AS successors"
        " FROM admin_units u LEFT JOIN admin_unit_successions s"
        "   ON s.old_code = u.code AND s.old_valid_from = u.valid_from"
        " WHERE u.code = $1 AND u.level = 'commune'"
        " GROUP BY u.code, u.name, u.valid_from, u.valid_to",
        code,
    )
    return [
        UnitVersion(r["code"], r["name"], r["valid_from"], r["valid_to"], tuple(r["successors"]))
        for r in rows
    ]


async def list_units(
    pool: asyncpg.Pool, *, on: date, level: str | None, limit: int, after: str | None
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT code, name, level, kind, parent_code, valid_from, valid_to FROM admin_units"
        " WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to >= $1)"
        " AND ($2::text IS NULL OR level = $2) AND ($3::text IS NULL OR code > $3)"
        f" ORDER BY code LIMIT {int(limit)}",
        on,
        level,
        after,
    )
