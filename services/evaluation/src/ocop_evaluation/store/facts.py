"""Registry's producers and products as evaluation keeps them, and the evaluation clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar
from uuid import UUID

import asyncpg

from ocop_evaluation import domain
from ocop_evaluation.store.common import Conn

C = TypeVar("C", domain.ProducerCopy, domain.ProductCopy)


def newest(copies: Iterable[C], key: Callable[[C], UUID]) -> list[C]:
    """One copy per key, the highest version (the first of equal versions), in first-seen
    order: what applying ``copies`` one after the other with a version check keeps."""
    kept: dict[UUID, C] = {}
    for copy in copies:
        held = kept.get(key(copy))
        if held is None or held.version < copy.version:
            kept[key(copy)] = copy
    return list(kept.values())


async def upsert_producers(conn: asyncpg.Connection, copies: Sequence[domain.ProducerCopy]) -> None:
    """Keep the newest version of each producer in one statement; an older version arriving
    late changes nothing."""
    rows = newest(copies, lambda p: p.producer_id)
    await conn.execute(
        "INSERT INTO producers (producer_id, legal_form, name, commune_code, version,"
        " registered_at, updated_at, registration_number)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[],"
        " $6::timestamptz[], $7::timestamptz[], $8::text[])"
        " ON CONFLICT (producer_id) DO UPDATE SET legal_form = EXCLUDED.legal_form,"
        " name = EXCLUDED.name, commune_code = EXCLUDED.commune_code,"
        " registration_number = EXCLUDED.registration_number,"
        " version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
        " received_at = clock_timestamp()"
        " WHERE producers.version < EXCLUDED.version",
        [p.producer_id for p in rows],
        [p.legal_form for p in rows],
        [p.name for p in rows],
        [p.commune_code for p in rows],
        [p.version for p in rows],
        [p.registered_at for p in rows],
        [p.updated_at for p in rows],
        [p.registration_number for p in rows],
    )


async def get_producer(conn: Conn, producer_id: UUID) -> domain.ProducerCopy | None:
    row = await conn.fetchrow(
        "SELECT producer_id, legal_form, name, commune_code, version, registered_at, updated_at"
        " FROM producers WHERE producer_id = $1",
        producer_id,
    )
    return domain.ProducerCopy(**dict(row)) if row else None


async def upsert_products(conn: asyncpg.Connection, copies: Sequence[domain.ProductCopy]) -> None:
    """Keep the newest version of each registry product in one statement."""
    rows = newest(copies, lambda p: p.product_id)
    await conn.execute(
        "INSERT INTO products (product_id, producer_id, name, public_code, classification,"
        " product_set, commune_code, district_code, version)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::text[], $9::int[])"
        " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name,"
        " classification = EXCLUDED.classification, product_set = EXCLUDED.product_set,"
        " version = EXCLUDED.version, received_at = clock_timestamp()"
        " WHERE products.version < EXCLUDED.version",
        [p.product_id for p in rows],
        [p.producer_id for p in rows],
        [p.name for p in rows],
        [p.public_code for p in rows],
        [p.classification for p in rows],
        [p.product_set for p in rows],
        [p.commune_code for p in rows],
        [p.district_code for p in rows],
        [p.version for p in rows],
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
