"""Set-based writes of the facts: one statement per run of events, whatever its length.

Each function takes the rows of one run (consecutive events of one type) and writes them with
``unnest``. Rows of the same key inside one run are reduced first (the latest version, or the
last copy), since one ``INSERT ... ON CONFLICT DO UPDATE`` may not touch a row twice. Every
write gives the same rows in whatever order the events arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from ocop_insights.domain.facts import (
    ApplicationFact,
    CertificateEnd,
    CertificateFact,
    NominationFact,
    ProducerFact,
    ProductFact,
    ResultFact,
)

T = TypeVar("T")


def latest(rows: Sequence[T], key: Callable[[T], Hashable], order: Callable[[T], Any]) -> list[T]:
    """One row per key: the greatest by ``order`` (the last one seen among equals)."""
    best: dict[Hashable, T] = {}
    for row in rows:
        k = key(row)
        if k not in best or order(row) >= order(best[k]):
            best[k] = row
    return list(best.values())


async def upsert_producers(conn: asyncpg.Connection, rows: Sequence[ProducerFact]) -> None:
    rows = latest(rows, lambda r: r.producer_id, lambda r: r.version)
    await conn.execute(
        """
        INSERT INTO producers AS p (producer_id, version, legal_form, commune_code,
                                    district_code, registered_on)
        SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[],
                             $6::date[])
        ON CONFLICT (producer_id) DO UPDATE SET
            version = EXCLUDED.version, legal_form = EXCLUDED.legal_form,
            commune_code = EXCLUDED.commune_code, district_code = EXCLUDED.district_code,
            registered_on = coalesce(p.registered_on, EXCLUDED.registered_on)
        WHERE p.version < EXCLUDED.version
        """,
        [r.producer_id for r in rows],
        [r.version for r in rows],
        [r.legal_form for r in rows],
        [r.commune_code for r in rows],
        [r.district_code for r in rows],
        [r.registered_on for r in rows],
    )


async def deregister_producers(conn: asyncpg.Connection, rows: Sequence[tuple[UUID, date]]) -> None:
    rows = latest(rows, lambda r: r[0], lambda r: r[1])
    await conn.execute(
        """
        INSERT INTO producers (producer_id, deregistered_on)
        SELECT * FROM unnest($1::uuid[], $2::date[])
        ON CONFLICT (producer_id) DO UPDATE SET deregistered_on = EXCLUDED.deregistered_on
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
    )


async def upsert_products(conn: asyncpg.Connection, rows: Sequence[ProductFact]) -> None:
    await conn.execute(
        """
        INSERT INTO product_places (product_id, version, since, commune_code, district_code)
        SELECT * FROM unnest($1::uuid[], $2::int[], $3::date[], $4::text[], $5::text[])
        ON CONFLICT DO NOTHING
        """,
        [r.product_id for r in rows],
        [r.version for r in rows],
        [r.since for r in rows],
        [r.commune_code for r in rows],
        [r.district_code for r in rows],
    )
    rows = latest(rows, lambda r: r.product_id, lambda r: r.version)
    await conn.execute(
        """
        INSERT INTO products AS p (product_id, version, producer_id, legal_form, classification,
                                   product_set, sector, statistics_sector, registered_on)
        SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[], $9::date[])
        ON CONFLICT (product_id) DO UPDATE SET
            version = EXCLUDED.version, producer_id = EXCLUDED.producer_id,
            legal_form = EXCLUDED.legal_form, classification = EXCLUDED.classification,
            product_set = EXCLUDED.product_set, sector = EXCLUDED.sector,
            statistics_sector = EXCLUDED.statistics_sector,
            registered_on = coalesce(p.registered_on, EXCLUDED.registered_on)
        WHERE p.version < EXCLUDED.version
        """,
        [r.product_id for r in rows],
        [r.version for r in rows],
        [r.producer_id for r in rows],
        [r.legal_form for r in rows],
        [r.classification for r in rows],
        [r.product_set for r in rows],
        [r.sector for r in rows],
        [r.statistics_sector for r in rows],
        [r.registered_on for r in rows],
    )


async def deregister_products(conn: asyncpg.Connection, rows: Sequence[tuple[UUID, date]]) -> None:
    rows = latest(rows, lambda r: r[0], lambda r: r[1])
    await conn.execute(
        """
        INSERT INTO products (product_id, deregistered_on)
        SELECT * FROM unnest($1::uuid[], $2::date[])
        ON CONFLICT (product_id) DO UPDATE SET deregistered_on = EXCLUDED.deregistered_on
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
    )


async def insert_certificates(conn: asyncpg.Connection, rows: Sequence[CertificateFact]) -> None:
    await conn.execute(
        """
        INSERT INTO certificates (certificate_id, product_id, kind, star, level, decision_date,
                                  valid_from, valid_until, replaces, application_id)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::smallint[], $5::text[],
                             $6::date[], $7::date[], $8::date[], $9::uuid[], $10::uuid[])
        ON CONFLICT (certificate_id) DO NOTHING
        """,
        [r.certificate_id for r in rows],
        [r.product_id for r in rows],
        [r.kind for r in rows],
        [r.star for r in rows],
        [r.level for r in rows],
        [r.decision_date for r in rows],
        [r.valid_from for r in rows],
        [r.valid_until for r in rows],
        [r.replaces for r in rows],
        [r.application_id for r in rows],
    )


async def end_certificates(conn: asyncpg.Connection, rows: Sequence[CertificateEnd]) -> None:
    rows = latest(rows, lambda r: (r.certificate_id, r.reason), lambda r: r.ended_on)
    await conn.execute(
        """
        INSERT INTO certificate_ends (certificate_id, reason, ended_on)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::date[])
        ON CONFLICT (certificate_id, reason) DO UPDATE SET ended_on = EXCLUDED.ended_on
        """,
        [r.certificate_id for r in rows],
        [r.reason for r in rows],
        [r.ended_on for r in rows],
    )


async def insert_nominations(conn: asyncpg.Connection, rows: Sequence[NominationFact]) -> None:
    await conn.execute(
        """
        INSERT INTO nominations (application_id, product_id, nominated_on)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[])
        ON CONFLICT (application_id) DO NOTHING
        """,
        [r.application_id for r in rows],
        [r.product_id for r in rows],
        [r.nominated_on for r in rows],
    )


async def upsert_applications(conn: asyncpg.Connection, rows: Sequence[ApplicationFact]) -> None:
    rows = latest(rows, lambda r: r.application_id, lambda r: r.submitted_on)
    await conn.execute(
        """
        INSERT INTO applications AS a (application_id, product_id, kind, round_year,
                                       statistics_sector, submitted_on)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[],
                             $6::date[])
        ON CONFLICT (application_id) DO UPDATE SET
            kind = EXCLUDED.kind, round_year = EXCLUDED.round_year,
            statistics_sector = EXCLUDED.statistics_sector, submitted_on = EXCLUDED.submitted_on
        """,
        [r.application_id for r in rows],
        [r.product_id for r in rows],
        [r.kind for r in rows],
        [r.round_year for r in rows],
        [r.statistics_sector for r in rows],
        [r.submitted_on for r in rows],
    )


async def withdraw_applications(
    conn: asyncpg.Connection, rows: Sequence[tuple[UUID, UUID, date]]
) -> None:
    rows = latest(rows, lambda r: r[0], lambda r: r[2])
    await conn.execute(
        """
        INSERT INTO applications (application_id, product_id, withdrawn_on)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[])
        ON CONFLICT (application_id) DO UPDATE SET withdrawn_on = EXCLUDED.withdrawn_on
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def upsert_results(conn: asyncpg.Connection, rows: Sequence[ResultFact]) -> None:
    rows = latest(rows, lambda r: (r.application_id, r.level), lambda r: r.decided_on)
    await conn.execute(
        """
        INSERT INTO results (application_id, level, product_id, outcome, star, decided_on)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::smallint[],
                             $6::date[])
        ON CONFLICT (application_id, level) DO UPDATE SET
            outcome = EXCLUDED.outcome, star = EXCLUDED.star, decided_on = EXCLUDED.decided_on
        """,
        [r.application_id for r in rows],
        [r.level for r in rows],
        [r.product_id for r in rows],
        [r.outcome for r in rows],
        [r.star for r in rows],
        [r.decided_on for r in rows],
    )


READ_MODEL_TABLES = (
    "producers",
    "products",
    "product_places",
    "certificates",
    "certificate_ends",
    "nominations",
    "applications",
    "results",
)
