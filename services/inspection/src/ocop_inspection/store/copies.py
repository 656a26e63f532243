"""The certified population as inspection copies it from registry's and evaluation's events,
complaints, the candidates of a draw, and the inspection clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg

from ocop_inspection import domain
from ocop_inspection.store.common import Conn


@dataclass(frozen=True)
class ProducerCopy:
    producer_id: UUID
    legal_form: str
    name: str | None
    commune_code: str
    district_code: str | None
    version: int


@dataclass(frozen=True)
class ProductCopy:
    product_id: UUID
    producer_id: UUID
    name: str
    public_code: str
    product_set: str
    commune_code: str
    district_code: str | None
    version: int

    @property
    def unit(self) -> str:
        return self.district_code or self.commune_code


async def upsert_producer(conn: asyncpg.Connection, p: ProducerCopy) -> None:
    """Keep the newest version of a producer; an older version arriving late changes nothing."""
    await conn.execute(
        "INSERT INTO producers (producer_id, legal_form, name, commune_code, district_code,"
        " version) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (producer_id) DO UPDATE SET legal_form = EXCLUDED.legal_form,"
        " name = EXCLUDED.name, commune_code = EXCLUDED.commune_code,"
        " district_code = EXCLUDED.district_code, version = EXCLUDED.version,"
        " received_at = clock_timestamp() WHERE producers.version < EXCLUDED.version",
        p.producer_id,
        p.legal_form,
        p.name,
        p.commune_code,
        p.district_code,
        p.version,
    )


async def upsert_product(conn: asyncpg.Connection, p: ProductCopy) -> None:
    await conn.execute(
        "INSERT INTO products (product_id, producer_id, name, public_code, product_set,"
        " commune_code, district_code, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name,"
        " public_code = EXCLUDED.public_code, product_set = EXCLUDED.product_set,"
        " commune_code = EXCLUDED.commune_code, district_code = EXCLUDED.district_code,"
        " version = EXCLUDED.version, received_at = clock_timestamp()"
        " WHERE products.version < EXCLUDED.version",
        p.product_id,
        p.producer_id,
        p.name,
        p.public_code,
        p.product_set,
        p.commune_code,
        p.district_code,
        p.version,
    )


async def deactivate(conn: asyncpg.Connection, table: str, column: str, id_: UUID) -> None:
    assert (table, column) in {("producers", "producer_id"), ("products", "product_id")}
    await conn.execute(f"UPDATE {table} SET active = false WHERE {column} = $1", id_)


async def get_product(conn: Conn, product_id: UUID) -> ProductCopy | None:
    row = await conn.fetchrow(
        "SELECT product_id, producer_id, name, public_code, product_set, commune_code,"
        " district_code, version FROM products WHERE product_id = $1 AND active",
        product_id,
    )
    return ProductCopy(**dict(row)) if row else None


async def get_producer(conn: Conn, producer_id: UUID) -> ProducerCopy | None:
    row = await conn.fetchrow(
        "SELECT producer_id, legal_form, name, commune_code, district_code, version"
        " FROM producers WHERE producer_id = $1",
        producer_id,
    )
    return ProducerCopy(**dict(row)) if row else None


async def products_of(conn: Conn, producer_id: UUID) -> list[ProductCopy]:
    rows = await conn.fetch(
        "SELECT product_id, producer_id, name, public_code, product_set, commune_code,"
        " district_code, version FROM products WHERE producer_id = $1 AND active"
        " ORDER BY product_id",
        producer_id,
    )
    return [ProductCopy(**dict(r)) for r in rows]


# ---------------------------------------------------------------- certificates


async def insert_certificate(
    conn: asyncpg.Connection, c: domain.CertificateCopy, replaces: UUID | None
) -> None:
    """A certificate issued; the one it replaces ends the day the new one starts."""
    await conn.execute(
        "INSERT INTO certificates (certificate_id, product_id, star, decision_date, valid_from,"
        " valid_until, state) VALUES ($1, $2, $3, $4, $5, $6, 'live')"
        " ON CONFLICT (certificate_id) DO NOTHING",
        c.certificate_id,
        c.product_id,
        c.star,
        c.decision_date,
        c.valid_from,
        c.valid_until,
    )
    if replaces is not None:
        await end_certificate(conn, replaces, "replaced", c.valid_from)


async def end_certificate(
    conn: asyncpg.Connection, certificate_id: UUID, state: str, ended_on: date
) -> None:
    """Expired, revoked or replaced from ``ended_on``; a revocation wins over the others."""
    await conn.execute(
        "UPDATE certificates SET state = $2, ended_on = $3"
        " WHERE certificate_id = $1 AND (state = 'live' OR ($2 = 'revoked' AND state <> 'revoked'))",
        certificate_id,
        state,
        ended_on,
    )


async def certificates_of(
    conn: Conn, product_ids: Sequence[UUID]
) -> dict[UUID, list[domain.CertificateCopy]]:
    rows = await conn.fetch(
        "SELECT certificate_id, product_id, star, decision_date, valid_from, valid_until, state,"
        " ended_on FROM certificates WHERE product_id = ANY($1::uuid[])",
        list(product_ids),
    )
    out: dict[UUID, list[domain.CertificateCopy]] = {p: [] for p in product_ids}
    for r in rows:
        out.setdefault(r["product_id"], []).append(domain.CertificateCopy(**dict(r)))
    return out


_HELD_ON = "c.valid_from <= $1 AND $1 <= c.valid_until AND (c.ended_on IS NULL OR $1 < c.ended_on)"


async def candidates(conn: Conn, as_of: date) -> list[domain.Candidate]:
    """Every active product holding a certificate on ``as_of``, with its risk facts as they
    stood that day (one query; the newest certificate when two overlap)."""
    rows = await conn.fetch(
        "WITH held AS ("
        "  SELECT DISTINCT ON (c.product_id) c.product_id, c.star, c.decision_date,"
        "         c.valid_until FROM certificates c"
        f"  WHERE {_HELD_ON} ORDER BY c.product_id, c.valid_from DESC, c.decision_date DESC),"
        " checked AS (SELECT unnest(product_ids) AS product_id, max(visited_on) AS last"
        "  FROM visits WHERE visited_on <= $1 GROUP BY 1),"
        " found AS (SELECT product_id, count(*) AS n FROM findings"
        "  WHERE visited_on < $1 AND outcome <> 'compliant' GROUP BY 1),"
        " complained AS (SELECT product_id, count(*) AS n FROM complaints"
        "  WHERE received_on <= $1 GROUP BY 1)"
        " SELECT p.product_id, p.producer_id, coalesce(p.district_code, p.commune_code) AS unit,"
        "  h.star, h.decision_date AS certified_on, h.valid_until,"
        "  ch.last AS last_inspected, coalesce(f.n, 0)::int AS earlier_findings,"
        "  coalesce(cm.n, 0)::int AS complaints"
        " FROM held h JOIN products p ON p.product_id = h.product_id AND p.active"
        " LEFT JOIN checked ch ON ch.product_id = h.product_id"
        " LEFT JOIN found f ON f.product_id = h.product_id"
        " LEFT JOIN complained cm ON cm.product_id = h.product_id",
        as_of,
    )
    return [domain.Candidate(**dict(r)) for r in rows]


async def count_certified(conn: Conn, as_of: date, unit: str | None = None) -> int:
    q = (
        "SELECT count(DISTINCT c.product_id) FROM certificates c"
        " JOIN products p ON p.product_id = c.product_id AND p.active"
        f" WHERE {_HELD_ON}"
    )
    if unit is None:
        return int(await conn.fetchval(q, as_of))
    q += " AND coalesce(p.district_code, p.commune_code) = $2"
    return int(await conn.fetchval(q, as_of, unit))


# ---------------------------------------------------------------- complaints and the clock


async def insert_complaint(
    conn: asyncpg.Connection, id_: UUID, product_id: UUID, received_on: date, reference: str
) -> bool:
    status = await conn.execute(
        "INSERT INTO complaints VALUES ($1, $2, $3, $4, clock_timestamp())"
        " ON CONFLICT (id) DO NOTHING",
        id_,
        product_id,
        received_on,
        reference,
    )
    return bool(status.endswith(" 1"))


async def clock_offset(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT offset_days FROM clock"))


async def advance_clock(conn: asyncpg.Connection, days: int) -> int:
    return int(
        await conn.fetchval(
            "UPDATE clock SET offset_days = offset_days + $1 RETURNING offset_days", days
        )
    )
