"""asyncpg queries on the evaluation schema; no rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


async def upsert_producer(
    conn: asyncpg.Connection,
    *,
    producer_id: UUID,
    legal_form: str,
    name: str | None,
    commune_code: str,
    version: int,
    at: datetime,
) -> None:
    """Keep the newest version of a producer; an older version arriving late changes nothing."""
    await conn.execute(
        "INSERT INTO producers (producer_id, legal_form, name, commune_code, version,"
        " registered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)"
        " ON CONFLICT (producer_id) DO UPDATE SET legal_form = EXCLUDED.legal_form,"
        " name = EXCLUDED.name, commune_code = EXCLUDED.commune_code,"
        " version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
        " received_at = clock_timestamp()"
        " WHERE producers.version < EXCLUDED.version",
        producer_id,
        legal_form,
        name,
        commune_code,
        version,
        at,
    )


async def get_producer(pool: asyncpg.Pool, producer_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT producer_id, legal_form, name, commune_code, version, registered_at, updated_at"
        " FROM producers WHERE producer_id = $1",
        producer_id,
    )
    return dict(row) if row else None
