"""Hanoi's dated administrative units and their successions (the 2025 reorganisation)."""

from __future__ import annotations

from datetime import date

import asyncpg

from ocop_registry.domain import UnitVersion
from ocop_registry.units import AdminUnit, Succession
from ocop_runtime.paging import Conn


async def load_admin_units(
    conn: asyncpg.Connection, units: list[AdminUnit], successions: list[Succession]
) -> None:
    """Upsert the shipped unit data (idempotent: corrections to names or dates apply). The
    successions are replaced as a whole: a corrected mapping drops the pairs it no longer has."""
    await conn.executemany(
        "INSERT INTO admin_units (code, valid_from, valid_to, level, kind, name, parent_code)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code, valid_from) DO UPDATE SET"
        " valid_to = EXCLUDED.valid_to, level = EXCLUDED.level, kind = EXCLUDED.kind,"
        " name = EXCLUDED.name, parent_code = EXCLUDED.parent_code",
        [(u.code, u.valid_from, u.valid_to, u.level, u.kind, u.name, u.parent_code) for u in units],
    )
    await conn.execute("DELETE FROM admin_unit_successions")
    await conn.executemany(
        "INSERT INTO admin_unit_successions VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(s.old.code, s.old.valid_from, s.new.code, s.new.valid_from) for s in successions],
    )


_UNIT_VERSIONS = (
    "SELECT u.code, u.name, u.valid_from, u.valid_to, u.parent_code,"
    " coalesce(array_agg(s.new_code ORDER BY s.new_code)"
    "   FILTER (WHERE s.new_code IS NOT NULL), '{}') AS successors"
    " FROM admin_units u LEFT JOIN admin_unit_successions s"
    "   ON s.old_code = u.code AND s.old_valid_from = u.valid_from"
    " WHERE u.level = 'commune'"
    " GROUP BY u.code, u.name, u.valid_from, u.valid_to, u.parent_code"
)


def _unit_version(r: asyncpg.Record) -> UnitVersion:
    return UnitVersion(
        r["code"],
        r["name"],
        r["valid_from"],
        r["valid_to"],
        tuple(r["successors"]),
        r["parent_code"],
    )


async def all_commune_versions(conn: Conn) -> dict[str, list[UnitVersion]]:
    """Every commune version by code (the registry keeps them in memory)."""
    rows = await conn.fetch(_UNIT_VERSIONS)
    out: dict[str, list[UnitVersion]] = {}
    for r in rows:
        out.setdefault(r["code"], []).append(_unit_version(r))
    return out


async def list_units(
    conn: Conn, *, on: date, level: str | None, limit: int, after: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT code, name, level, kind, parent_code, valid_from, valid_to FROM admin_units"
        " WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to >= $1)"
        " AND ($2::text IS NULL OR level = $2) AND ($3::text IS NULL OR code > $3)"
        f" ORDER BY code LIMIT {int(limit)}",
        on,
        level,
        after,
    )
