"""asyncpg queries on the evaluation schema; no rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
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


async def upsert_product(conn: asyncpg.Connection, p: dict[str, Any]) -> None:
    """Keep the newest version of a registry product."""
    await conn.execute(
        "INSERT INTO products (product_id, producer_id, name, public_code, classification,"
        " product_set, commune_code, district_code, version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name,"
        " classification = EXCLUDED.classification, product_set = EXCLUDED.product_set,"
        " version = EXCLUDED.version, received_at = clock_timestamp()"
        " WHERE products.version < EXCLUDED.version",
        p["product_id"],
        p["producer_id"],
        p["name"],
        p["public_code"],
        p["classification"],
        p["product_set"],
        p["commune_code"],
        p["district_code"],
        p["version"],
    )


async def clock_offset(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval("SELECT offset_days FROM clock"))


async def advance_clock(conn: asyncpg.Connection, days: int) -> int:
    return int(
        await conn.fetchval(
            "UPDATE clock SET offset_days = offset_days + $1 RETURNING offset_days", days
        )
    )


# ---------------------------------------------------------------- rounds and entries


async def insert_round(
    conn: asyncpg.Connection, round_id: UUID, year: int, level: str, name: str, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO rounds (id, year, level, name, status, opened_at)"
        " VALUES ($1, $2, $3, $4, 'open', $5)",
        round_id,
        year,
        level,
        name,
        at,
    )


async def get_round(
    conn: asyncpg.Connection | asyncpg.Pool, round_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM rounds WHERE id = $1{lock}", round_id)


async def open_round(conn: asyncpg.Connection, year: int, level: str) -> UUID | None:
    value = await conn.fetchval(
        "SELECT id FROM rounds WHERE year = $1 AND level = $2 AND status = 'open'", year, level
    )
    return value if isinstance(value, UUID) else None


async def list_rounds(
    pool: asyncpg.Pool,
    *,
    year: int | None,
    level: str | None,
    status: str | None,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[asyncpg.Record]:
    """Newest first; ``before`` is the keyset cursor (opened_at, id) of the previous page."""
    return await pool.fetch(
        "SELECT r.*, (SELECT count(*) FROM entries e WHERE e.round_id = r.id) AS entries"
        " FROM rounds r WHERE ($1::int IS NULL OR year = $1) AND ($2::text IS NULL OR level = $2)"
        " AND ($3::text IS NULL OR status = $3)"
        " AND ($4::timestamptz IS NULL OR (opened_at, id) < ($4, $5::uuid))"
        f" ORDER BY opened_at DESC, id DESC LIMIT {int(limit)}",
        year,
        level,
        status,
        before[0] if before else None,
        before[1] if before else None,
    )


async def insert_entry(conn: asyncpg.Connection, e: dict[str, Any]) -> bool:
    status = await conn.execute(
        "INSERT INTO entries (application_id, product_id, producer_id, kind, regime, product_set,"
        " commune_code, district_code, round_year, level, submitted_on, round_id, status,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (application_id, level) DO NOTHING",
        *(
            e[k]
            for k in (
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
        ),
    )
    return bool(status.endswith(" 1"))


async def attach_waiting(
    conn: asyncpg.Connection, round_id: UUID, year: int, level: str
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "UPDATE entries SET round_id = $1, status = 'entered'"
        " WHERE round_id IS NULL AND status = 'waiting' AND round_year = $2 AND level = $3"
        " RETURNING application_id, product_id",
        round_id,
        year,
        level,
    )


async def get_entry(
    conn: asyncpg.Connection | asyncpg.Pool, application_id: UUID, round_id: UUID | None = None
) -> asyncpg.Record | None:
    """The application's entry in ``round_id``, or its latest entry at any level."""
    return await conn.fetchrow(
        "SELECT * FROM entries WHERE application_id = $1"
        " AND ($2::uuid IS NULL OR round_id = $2) ORDER BY created_at DESC LIMIT 1",
        application_id,
        round_id,
    )


async def round_entries(
    conn: asyncpg.Connection | asyncpg.Pool, round_id: UUID
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM entries WHERE round_id = $1 AND status NOT IN ('withdrawn', 'returned')"
        " ORDER BY created_at, application_id",
        round_id,
    )


async def set_entry_status(
    conn: asyncpg.Connection,
    application_id: UUID,
    level: str,
    status: str,
    result: dict[str, Any] | None,
) -> None:
    await conn.execute(
        "UPDATE entries SET status = $3, result = coalesce($4::jsonb, result)"
        " WHERE application_id = $1 AND level = $2",
        application_id,
        level,
        status,
        json.dumps(result) if result is not None else None,
    )


# ---------------------------------------------------------------- councils and sheets


async def replace_council(
    conn: asyncpg.Connection, round_id: UUID, members: list[dict[str, Any]]
) -> None:
    await conn.execute("DELETE FROM council_members WHERE round_id = $1", round_id)
    await conn.executemany(
        "INSERT INTO council_members VALUES ($1, $2, $3, $4, $5)",
        [(round_id, m["member_id"], m["name"], m["role"], m.get("unit_code")) for m in members],
    )


async def council(conn: asyncpg.Connection | asyncpg.Pool, round_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM council_members WHERE round_id = $1 ORDER BY role, member_id", round_id
    )


async def upsert_sheet(
    conn: asyncpg.Connection,
    round_id: UUID,
    application_id: UUID,
    member_id: str,
    points: dict[str, str],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO score_sheets VALUES ($1, $2, $3, $4::jsonb, $5)"
        " ON CONFLICT (round_id, application_id, member_id)"
        " DO UPDATE SET points = EXCLUDED.points, submitted_at = EXCLUDED.submitted_at",
        round_id,
        application_id,
        member_id,
        json.dumps(points),
        at,
    )


async def round_sheets(
    conn: asyncpg.Connection | asyncpg.Pool, round_id: UUID
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT application_id, member_id, points FROM score_sheets WHERE round_id = $1",
        round_id,
    )


async def close_round(
    conn: asyncpg.Connection, round_id: UUID, at: datetime, override: str | None
) -> None:
    await conn.execute(
        "UPDATE rounds SET status = 'closed', closed_at = $2, override = $3 WHERE id = $1",
        round_id,
        at,
        override,
    )


async def decide_round(conn: asyncpg.Connection, round_id: UUID, number: str, day: date) -> None:
    await conn.execute(
        "UPDATE rounds SET status = 'decided', decision_number = $2, decision_date = $3"
        " WHERE id = $1",
        round_id,
        number,
        day,
    )


# ---------------------------------------------------------------- certificates


async def product_certificates(
    conn: asyncpg.Connection | asyncpg.Pool, product_id: UUID, *, for_update: bool = False
) -> list[asyncpg.Record]:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetch(
        f"SELECT * FROM certificates WHERE product_id = $1 ORDER BY decision_date, issued_at{lock}",
        product_id,
    )


async def get_certificate(
    conn: asyncpg.Connection | asyncpg.Pool, certificate_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM certificates WHERE id = $1", certificate_id)


async def certificates_of_products(
    conn: asyncpg.Connection, product_ids: Sequence[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    """Every product's certificates, locked, oldest first, in one statement."""
    rows = await conn.fetch(
        "SELECT * FROM certificates WHERE product_id = ANY($1::uuid[])"
        " ORDER BY product_id, decision_date, issued_at FOR UPDATE",
        list(product_ids),
    )
    out: dict[UUID, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["product_id"], []).append(r)
    return out


async def reserve_certificate_numbers(conn: asyncpg.Connection, year: int, count: int) -> int:
    """The first of ``count`` consecutive certificate numbers of ``year``."""
    if count == 0:
        return 0
    last = await conn.fetchval(
        "INSERT INTO certificate_numbers VALUES ($1, $2) ON CONFLICT (year) DO UPDATE"
        " SET last_sequence = certificate_numbers.last_sequence + $2 RETURNING last_sequence",
        year,
        count,
    )
    return int(last) - count + 1


async def set_entries_status(
    conn: asyncpg.Connection, keys: Sequence[tuple[UUID, str]], status: str
) -> None:
    await conn.executemany(
        "UPDATE entries SET status = $3 WHERE application_id = $1 AND level = $2",
        [(application_id, level, status) for application_id, level in keys],
    )


async def save_certificates(conn: asyncpg.Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.executemany(_SAVE_CERTIFICATE, [_certificate_args(c) for c in rows])


def _certificate_args(c: dict[str, Any]) -> tuple[Any, ...]:
    return (
        c["id"],
        c["number"],
        c["product_id"],
        c["application_id"],
        c["star"],
        c["level"],
        c["score"],
        c["decision_number"],
        c["decision_date"],
        c["valid_until"],
        c["rulebook"],
        c["rulebook_version"],
        c["replaces"],
        c["state"],
        c["ended_on"],
        c["replaced_by"],
        c["replacement"],
        json.dumps(c["revocation"]) if c["revocation"] is not None else None,
        c["notices_sent"],
        c["issued_at"],
    )


_SAVE_CERTIFICATE = (
    "INSERT INTO certificates (id, number, product_id, application_id, star, level, score,"
    " decision_number, decision_date, valid_until, rulebook, rulebook_version, replaces,"
    " state, ended_on, replaced_by, replacement, revocation, notices_sent, issued_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
    " $18::jsonb, $19, $20)"
    " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, ended_on = EXCLUDED.ended_on,"
    " replaced_by = EXCLUDED.replaced_by, replacement = EXCLUDED.replacement,"
    " revocation = EXCLUDED.revocation, notices_sent = EXCLUDED.notices_sent"
)


async def certificates_ending_by(
    conn: asyncpg.Connection, day: date, *, limit: int = 1000
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM certificates WHERE state = 'live' AND valid_until <= $1"
        f" ORDER BY valid_until, id LIMIT {int(limit)} FOR UPDATE SKIP LOCKED",
        day,
    )


async def list_certificates(
    pool: asyncpg.Pool,
    *,
    product_id: UUID | None,
    star: int | None,
    state: str | None,
    level: str | None,
    ending_by: date | None,
    limit: int,
    after: tuple[date, UUID] | None,
    product_set: str | None = None,
    unit: str | None = None,
    round_id: UUID | None = None,
) -> list[asyncpg.Record]:
    """Certificates soonest-ending first; ``unit`` matches the product's commune or pre-2025
    district (from the local copy of registry's products)."""
    return await pool.fetch(
        "SELECT c.* FROM certificates c LEFT JOIN products p ON p.product_id = c.product_id"
        " WHERE ($1::uuid IS NULL OR c.product_id = $1)"
        " AND ($2::int IS NULL OR c.star = $2) AND ($3::text IS NULL OR c.state = $3)"
        " AND ($4::text IS NULL OR c.level = $4) AND ($5::date IS NULL OR c.valid_until <= $5)"
        " AND ($6::date IS NULL OR (c.valid_until, c.id) > ($6, $7::uuid))"
        " AND ($8::text IS NULL OR p.product_set = $8)"
        " AND ($9::text IS NULL OR p.commune_code = $9 OR p.district_code = $9)"
        " AND ($10::uuid IS NULL OR c.application_id IN"
        "   (SELECT application_id FROM entries WHERE round_id = $10))"
        f" ORDER BY c.valid_until, c.id LIMIT {int(limit)}",
        product_id,
        star,
        state,
        level,
        ending_by,
        after[0] if after else None,
        after[1] if after else None,
        product_set,
        unit,
        round_id,
    )


async def insert_recommendation(conn: asyncpg.Connection, r: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO revocation_recommendations (id, product_id, certificate_id, grounds,"
        " findings, recommended_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        r["id"],
        r["product_id"],
        r["certificate_id"],
        r["grounds"],
        r["findings"],
        r["recommended_at"],
    )


async def get_recommendation(
    conn: asyncpg.Connection | asyncpg.Pool, recommendation_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM revocation_recommendations WHERE id = $1{lock}", recommendation_id
    )


async def set_recommendation(
    conn: asyncpg.Connection, recommendation_id: UUID, decided: str
) -> None:
    await conn.execute(
        "UPDATE revocation_recommendations SET decided = $2 WHERE id = $1",
        recommendation_id,
        decided,
    )


async def pending_recommendations(pool: asyncpg.Pool, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM revocation_recommendations WHERE decided IS NULL"
        f" ORDER BY recommended_at LIMIT {int(limit)}"
    )
