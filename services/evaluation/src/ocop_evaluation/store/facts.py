"""Registry's producers and products as evaluation keeps them, and the evaluation clock."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ocop_evaluation import domain
from ocop_evaluation.store.common import Conn


async def upsert_producer(conn: asyncpg.Connection, p: domain.ProducerCopy) -> None:
    """Keep the newest version of a producer; an older version arriving late changes nothing."""
    await conn.execute(
        "INSERT INTO producers (producer_id, legal_form, name, commune_code, version,"
        " registered_at, updated_at, registration_number)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (producer_id) DO UPDATE SET legal_form = EXCLUDED.legal_form,"
        " name = EXCLUDED.name, commune_code = EXCLUDED.commune_code,"
        " registration_number = EXCLUDED.registration_number,"
        " version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
        " received_at = clock_timestamp()"
        " WHERE producers.version < EXCLUDED.version",
        p.producer_id,
        p.legal_form,
        p.name,
        p.commune_code,
        p.version,
        p.registered_at,
        p.updated_at,
        p.registration_number,
    )


async def get_producer(conn: Conn, producer_id: UUID) -> domain.ProducerCopy | None:
    row = await conn.fetchrow(
        "SELECT producer_id, legal_form, name, commune_code, version, registered_at, updated_at"
        " FROM producers WHERE producer_id = $1",
        producer_id,
    )
    return domain.ProducerCopy(**dict(row)) if row else None


async def upsert_product(conn: asyncpg.Connection, p: domain.ProductCopy) -> None:
    """Keep the newest version of a registry product."""
    await conn.execute(
        "INSERT INTO products (product_id, producer_id, name, public_code, classification,"
        " product_set, commune_code, district_code, version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name,"
        " classification = EXCLUDED.classification, product_set = EXCLUDED.product_set,"
        " version = EXCLUDED.version, received_at = clock_timestamp()"
        " WHERE products.version < EXCLUDED.version",
        p.product_id,
        p.producer_id,
        p.name,
        p.public_code,
        p.classification,
        p.product_set,
        p.commune_code,
        p.district_code,
        p.version,
    )


# ---------------------------------------------------------------- the clock


async def clock_offset(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT offset_days FROM clock"))


async def advance_clock(conn: asyncpg.Connection, days: int) -> int:
    return int(
        await conn.fetchval(
            "UPDATE clock SET offset_days = offset_days + $1 RETURNING offset_days", days
        )
    )
