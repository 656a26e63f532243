"""Products: registration, public codes, the public lookup and the filtered list."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from ocop_registry.domain import LegalForm
from ocop_registry.domain.certificates import EXPIRING_WITHIN_DAYS, Certificate
from ocop_registry.domain.products import Product
from ocop_registry.store.certificates import certificate_columns, certificate_of
from ocop_registry.store.scope import Scope, scope_clause, unit_clause
from ocop_runtime.db import insert_statement
from ocop_runtime.paging import Conn, Keyset, Page, Query, Sort, fetch_page

_PRODUCT = (
    "p.id, p.producer_id, p.name, p.public_code, p.classification, p.product_set, p.sector,"
    " p.statistics_sector, p.commune_code, p.commune_valid_from, p.district_code,"
    " p.registered_on, p.version, p.registered_at, p.updated_at, p.deregistered_at,"
    " p.deregistration_reason"
)
# The latest certificate's columns and its status today ($1), as the lookup computes it.
CERTIFICATE_STATUS_SQL = f"""CASE
    WHEN p.certificate_id IS NULL OR p.certificate_from > {{today}} THEN 'not_certified'
    WHEN p.certificate_revoked <= {{today}} THEN 'revoked'
    WHEN p.certificate_until < {{today}} OR p.certificate_expired <= {{today}} THEN 'expired'
    WHEN p.certificate_until - {{today}} < {EXPIRING_WITHIN_DAYS} THEN 'expiring'
    ELSE 'valid' END"""


def product_of(row: asyncpg.Record) -> Product:
    return Product(**{k: row[k] for k in Product.__slots__})


def key_of(name: str) -> str:
    return name.casefold()


async def next_code_sequence(conn: asyncpg.Connection, commune_code: str, year: int) -> int:
    return int(
        await conn.fetchval(
            "INSERT INTO product_code_sequences VALUES ($1, $2, 1)"
            " ON CONFLICT (commune_code, year) DO UPDATE"
            " SET last_sequence = product_code_sequences.last_sequence + 1"
            " RETURNING last_sequence",
            commune_code,
            year,
        )
    )


_PRODUCT_COLUMNS = (
    "id",
    "producer_id",
    "name",
    "name_key",
    "public_code",
    "classification",
    "product_set",
    "sector",
    "statistics_sector",
    "commune_code",
    "commune_valid_from",
    "district_code",
    "registered_on",
    "version",
    "registered_at",
    "updated_at",
)
_PRODUCT_INSERT = insert_statement("products", _PRODUCT_COLUMNS)


def _product_args(p: Product) -> tuple[Any, ...]:
    return (
        p.id,
        p.producer_id,
        p.name,
        key_of(p.name),
        p.public_code,
        p.classification,
        p.product_set,
        p.sector,
        p.statistics_sector,
        p.commune_code,
        p.commune_valid_from,
        p.district_code,
        p.registered_on,
        p.version,
        p.registered_at,
        p.updated_at,
    )


async def insert_product(conn: asyncpg.Connection, p: Product) -> None:
    await conn.execute(_PRODUCT_INSERT, *_product_args(p))


async def insert_products(conn: asyncpg.Connection, products: Sequence[Product]) -> None:
    """A whole file's products (imports) in one ``COPY``: PostgreSQL runs one statement rather
    than one per row, with the same constraints, indexes and triggers."""
    if products:
        await conn.copy_records_to_table(
            "products", records=[_product_args(p) for p in products], columns=_PRODUCT_COLUMNS
        )


async def save_product(conn: asyncpg.Connection, p: Product) -> None:
    await conn.execute(
        "UPDATE products SET name = $2, name_key = $3, classification = $4, product_set = $5,"
        " sector = $6, statistics_sector = $7, version = $8, updated_at = $9,"
        " deregistered_at = $10, deregistration_reason = $11 WHERE id = $1",
        p.id,
        p.name,
        key_of(p.name),
        p.classification,
        p.product_set,
        p.sector,
        p.statistics_sector,
        p.version,
        p.updated_at,
        p.deregistered_at,
        p.deregistration_reason,
    )


async def get_product(
    conn: Conn, product_id: UUID, *, for_update: bool = False, scope: Scope | None = None
) -> Product | None:
    q = Query()
    q.add("p.id = {}", product_id)
    scope_clause(q, scope, "p", "p.producer_id")
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_PRODUCT} FROM products p{q.sql}{lock}", *q.args)
    return product_of(row) if row else None


async def product_by_code(conn: Conn, code: str) -> Product | None:
    row = await conn.fetchrow(f"SELECT {_PRODUCT} FROM products p WHERE public_code = $1", code)
    return product_of(row) if row else None


@dataclass(frozen=True)
class PublicView:
    product: Product
    producer_legal_form: LegalForm
    producer_name: str
    commune_name: str
    certificates: list[Certificate]


_PUBLIC_VIEW = (
    f"SELECT {_PRODUCT}, pr.legal_form AS producer_legal_form, pr.name AS producer_name,"
    f" u.name AS commune_name, {certificate_columns('c', 'c_')}"
    " FROM products p JOIN producers pr ON pr.id = p.producer_id"
    " JOIN admin_units u ON u.code = p.commune_code AND u.valid_from = p.commune_valid_from"
    " LEFT JOIN certificates c ON c.product_id = p.id"
    " WHERE p.public_code = $1 ORDER BY c.valid_from, c.recorded_at"
)


async def public_view(conn: Conn, code: str) -> PublicView | None:
    """What the public lookup shows, in one statement: the product with its producer and
    commune, once per certificate in its history (once with no certificate), in the order of
    :func:`certificates_of`. No personal data is read: the producer's name is dropped by the
    caller for households."""
    rows = await conn.fetch(_PUBLIC_VIEW, code)
    if not rows:
        return None
    row = rows[0]
    return PublicView(
        product_of(row),
        LegalForm(row["producer_legal_form"]),
        row["producer_name"],
        row["commune_name"],
        [certificate_of(r, "c_") for r in rows if r["c_id"] is not None],
    )


async def products_by_key(
    conn: Conn, keys: Sequence[tuple[UUID, str]]
) -> dict[tuple[UUID, str], Product]:
    rows = await conn.fetch(
        f"SELECT {_PRODUCT} FROM products p WHERE p.deregistered_at IS NULL AND"
        " (p.producer_id, p.name_key) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["producer_id"], key_of(r["name"])): product_of(r) for r in rows}


PRODUCT_SORTS = {
    "registered_at": Sort("p.registered_at", "timestamptz"),
    "-registered_at": Sort("p.registered_at", "timestamptz", descending=True),
    "name": Sort("p.name_key", "text"),
    "-name": Sort("p.name_key", "text", descending=True),
    "star": Sort("coalesce(p.star, 0)", "integer"),
    "-star": Sort("coalesce(p.star, 0)", "integer", descending=True),
    "public_code": Sort("p.public_code", "text"),
}


@dataclass(frozen=True)
class ProductFilter:
    producer_id: UUID | None = None
    legal_form: LegalForm | None = None
    commune: str | None = None
    district: str | None = None
    product_set: str | None = None
    sector: str | None = None
    star: int | None = None
    status: str | None = None
    year: int | None = None
    q: str | None = None
    include_deregistered: bool = False


async def list_products(
    conn: Conn, f: ProductFilter, keyset: Keyset, *, today: date, scope: Scope | None = None
) -> Page:
    q = Query()
    scope_clause(q, scope, "p", "p.producer_id")
    # A literal, not a parameter: the count query may not use it, and a date is safe to inline.
    status_sql = CERTIFICATE_STATUS_SQL.format(today=f"DATE '{today.isoformat()}'")
    if f.producer_id is not None:
        q.add("p.producer_id = {}", f.producer_id)
    if f.legal_form is not None:
        q.add("pr.legal_form = {}", f.legal_form.value)
    unit_clause(q, f.commune, f.district, "p")
    if f.product_set is not None:
        q.add("p.product_set = {}", f.product_set)
    if f.sector is not None:
        q.add("(p.sector = {} OR p.statistics_sector = {})", f.sector, f.sector)
    if f.star is not None:
        q.add("p.star = {}", f.star)
    if f.status is not None:
        q.add(f"{status_sql} = {{}}", f.status)
    if f.year is not None:
        q.add("p.registered_on >= make_date({}, 1, 1)", f.year)
        q.add("p.registered_on < make_date({} + 1, 1, 1)", f.year)
    if f.q:
        escaped = (
            key_of(unicodedata.normalize("NFC", f.q))
            .replace("\\", "\\\\")
            .replace("%", "\\%")
            .replace("_", "\\_")
        )
        q.add("p.name_key LIKE '%' || {} || '%'", escaped)
    if not f.include_deregistered:
        q.where.append("p.deregistered_at IS NULL")
    select = (
        f"SELECT {_PRODUCT}, pr.legal_form AS producer_legal_form, pr.name AS producer_name,"
        " p.star, p.certificate_number, p.certificate_until, u.name AS commune_name,"
        f" {status_sql} AS certificate_status"
    )
    producers_join = " JOIN producers pr ON pr.id = p.producer_id"
    return await fetch_page(
        conn,
        select,
        q,
        keyset,
        id_column="p.id",
        count_from="FROM products p" + (producers_join if f.legal_form is not None else ""),
        page_from="FROM products p"
        + producers_join
        + " JOIN admin_units u ON u.code = p.commune_code AND u.valid_from = p.commune_valid_from",
    )
