"""Registry's products and evaluation's certificates as trade keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from ocop_trade import domain
from ocop_trade.store.common import Conn


@dataclass(frozen=True)
class ProductCopy:
    product_id: UUID
    producer_id: UUID
    producer_legal_form: str
    producer_name: str | None
    name: str
    public_code: str
    product_set: str
    statistics_sector: str
    commune_code: str
    district_code: str | None
    version: int
    deregistered_at: datetime | None = None


def unnamed(product_id: UUID) -> str:
    """The goods name of a listing made before trade had the product's registration."""
    return f"product {product_id}"


async def lock_product(conn: asyncpg.Connection, product_id: UUID) -> None:
    """Until the transaction ends: one at a time per product between its registration arriving
    and a listing of it being made, so the listing never misses the name (a product not yet
    stored has no row to lock)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('ocop.trade.product'), hashtext($1::text))",
        str(product_id),
    )


async def name_listings(conn: asyncpg.Connection, p: ProductCopy) -> None:
    """Listings of ``p`` made before trade had it take its producer and, unless the officer
    named the goods, its name."""
    await conn.execute(
        "UPDATE listings SET producer_id = $2,"
        " goods_name = CASE WHEN goods_name = $4 THEN $3 ELSE goods_name END,"
        " updated_at = clock_timestamp() WHERE product_id = $1 AND producer_id IS NULL",
        p.product_id,
        p.producer_id,
        p.name,
        unnamed(p.product_id),
    )


async def upsert_product(conn: asyncpg.Connection, p: ProductCopy) -> None:
    """Keep the newest version of a product; an older one arriving late changes nothing."""
    await conn.execute(
        "INSERT INTO products (product_id, producer_id, producer_legal_form, producer_name, name,"
        " public_code, product_set, statistics_sector, commune_code, district_code, version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (product_id) DO UPDATE SET producer_legal_form = EXCLUDED.producer_legal_form,"
        " producer_name = EXCLUDED.producer_name, name = EXCLUDED.name,"
        " public_code = EXCLUDED.public_code, product_set = EXCLUDED.product_set,"
        " statistics_sector = EXCLUDED.statistics_sector, commune_code = EXCLUDED.commune_code,"
        " district_code = EXCLUDED.district_code, version = EXCLUDED.version,"
        " received_at = clock_timestamp() WHERE products.version < EXCLUDED.version",
        p.product_id,
        p.producer_id,
        p.producer_legal_form,
        p.producer_name,
        p.name,
        p.public_code,
        p.product_set,
        p.statistics_sector,
        p.commune_code,
        p.district_code,
        p.version,
    )


async def deregister_product(conn: asyncpg.Connection, product_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE products SET deregistered_at = $2 WHERE product_id = $1", product_id, at
    )


async def get_product(conn: Conn, product_id: UUID) -> ProductCopy | None:
    row = await conn.fetchrow(
        "SELECT product_id, producer_id, producer_legal_form, producer_name, name, public_code,"
        " product_set, statistics_sector, commune_code, district_code, version, deregistered_at"
        " FROM products WHERE product_id = $1",
        product_id,
    )
    return ProductCopy(**dict(row)) if row else None


async def producers_of(conn: Conn, product_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    rows = await conn.fetch(
        "SELECT product_id, producer_id FROM products WHERE product_id = ANY($1::uuid[])",
        list(product_ids),
    )
    return {r["product_id"]: r["producer_id"] for r in rows}


def _certificate(row: asyncpg.Record) -> domain.CertificateCopy:
    return domain.CertificateCopy(
        certificate_id=row["certificate_id"],
        product_id=row["product_id"],
        star=row["star"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        state=domain.CertificateState(row["state"]),
        ended_on=row["ended_on"],
        end_reason=row["end_reason"],
    )


async def certificates_of(
    conn: Conn, product_ids: Sequence[UUID], *, for_update: bool = False
) -> dict[UUID, list[domain.CertificateCopy]]:
    """Each product's certificates, oldest first, in one statement."""
    rows = await conn.fetch(
        "SELECT * FROM certificates WHERE product_id = ANY($1::uuid[])"
        " ORDER BY product_id, valid_from, certificate_id" + (" FOR UPDATE" if for_update else ""),
        list(product_ids),
    )
    out: dict[UUID, list[domain.CertificateCopy]] = {p: [] for p in product_ids}
    for r in rows:
        out[r["product_id"]].append(_certificate(r))
    return out


async def get_certificate(conn: Conn, certificate_id: UUID) -> domain.CertificateCopy | None:
    row = await conn.fetchrow(
        "SELECT * FROM certificates WHERE certificate_id = $1", certificate_id
    )
    return _certificate(row) if row else None


async def save_certificates(
    conn: asyncpg.Connection, certificates: Sequence[domain.CertificateCopy]
) -> None:
    await conn.executemany(
        "INSERT INTO certificates (certificate_id, product_id, star, valid_from, valid_until,"
        " state, ended_on, end_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (certificate_id) DO UPDATE SET star = EXCLUDED.star,"
        " valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until,"
        " state = EXCLUDED.state, ended_on = EXCLUDED.ended_on, end_reason = EXCLUDED.end_reason,"
        " received_at = clock_timestamp()",
        [
            (
                c.certificate_id,
                c.product_id,
                c.star,
                c.valid_from,
                c.valid_until,
                c.state.value,
                c.ended_on,
                c.end_reason,
            )
            for c in certificates
        ],
    )
