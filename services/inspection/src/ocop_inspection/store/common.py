"""What every store module shares."""

from __future__ import annotations

import json
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from ocop_runtime.paging import Query

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool

# A producer is in a unit when its district or its commune is that unit.
_IN_UNITS = (
    "SELECT producer_id FROM producers WHERE (district_code = ANY({0}) OR commune_code = ANY({0}))"
)


def in_units(q: Query, units: frozenset[str] | None, column: str = "producer_id") -> None:
    """Only the rows whose producer (``column``) is in ``units`` (None: every unit)."""
    if units is not None:
        q.add(f"{column} IN ({_IN_UNITS})", sorted(units))


async def producers_in_units(
    conn: Conn, producer_ids: list[UUID], units: frozenset[str]
) -> set[UUID]:
    """Which of the producers are in ``units``."""
    query = f"{_IN_UNITS.format('$1')} AND producer_id = ANY($2::uuid[])"
    return {r["producer_id"] for r in await conn.fetch(query, sorted(units), producer_ids)}


async def producer_in_units(conn: Conn, producer_id: UUID, units: frozenset[str] | None) -> bool:
    """Whether the producer is in ``units`` (None: every unit, always true)."""
    if units is None:
        return True
    query = f"SELECT EXISTS ({_IN_UNITS.format('$1')} AND producer_id = $2)"
    found: bool = await conn.fetchval(query, sorted(units), producer_id)
    return found


def lock(for_update: bool) -> str:
    """The locking clause of a SELECT that the caller means to change."""
    return " FOR UPDATE" if for_update else ""


def loads(value: Any) -> Any:
    """A jsonb column as Python (asyncpg hands jsonb over as text)."""
    return json.loads(value) if isinstance(value, str) else value
