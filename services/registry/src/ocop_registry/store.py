"""asyncpg queries on the registry schema; no rules."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import (
    Any,
    TypeAlias,
)
from uuid import UUID

import asyncpg

from ocop_registry.domain import LegalForm, Person, Producer, UnitVersion
from ocop_registry.domain.applications import Application, ApplicationStatus
from ocop_registry.domain.certificates import EXPIRING_WITHIN_DAYS, Certificate
from ocop_registry.domain.classification import Regime
from ocop_registry.domain.dossier import ApplicationKind, DocumentType, EvidenceFile
from ocop_registry.domain.products import Product
from ocop_registry.units import AdminUnit, Succession

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


class Query:
    """WHERE clauses with numbered parameters, built from the filters that were given."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str, *values: Any) -> None:
        """``clause`` uses ``{}`` for each value, in order."""
        self.where.append(clause.format(*(self.arg(v) for v in values)))

    @property
    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.where) if self.where else ""


@dataclass(frozen=True)
class Sort:
    """A keyset order: a SQL expression (cast target for the cursor value) and direction."""

    expression: str
    sql_type: str
    descending: bool = False

    def page(self, q: Query, after: tuple[str, UUID] | None, id_column: str) -> str:
        if after is not None:
            op = "<" if self.descending else ">"
            q.add(
                f"({self.expression}, {id_column}) {op} ({{}}::text::{self.sql_type}, {{}})",
                after[0],
                after[1],
            )
        direction = "DESC" if self.descending else "ASC"
        return f" ORDER BY {self.expression} {direction}, {id_column} {direction}"


@dataclass(frozen=True)
class Scope:
    """Whose records a caller may see: ``units`` (commune/ward or pre-2025 district codes;
    None: every unit) and ``producer_id`` (a producer's own account). Rows outside the scope
    behave as if they did not exist."""

    units: frozenset[str] | None = None
    producer_id: UUID | None = None

    @property
    def everything(self) -> bool:
        return self.units is None and self.producer_id is None

    def allows_unit(self, commune_code: str, district_code: str | None) -> bool:
        return self.units is None or commune_code in self.units or district_code in self.units


EVERYTHING = Scope()


def _scope_clause(q: Query, scope: Scope | None, alias: str, producer_column: str) -> None:
    if scope is None or scope.everything:
        return
    if scope.producer_id is not None:
        q.add(f"{producer_column} = {{}}", scope.producer_id)
    if scope.units is not None:
        units = sorted(scope.units)
        # A 2025 unit also covers the old communes that (wholly or partly) went into it.
        q.add(
            f"({alias}.commune_code = ANY(ARRAY(SELECT unnest({{}}::text[]) UNION"
            " SELECT old_code FROM admin_unit_successions WHERE new_code = ANY({}::text[])))"
            f" OR {alias}.district_code = ANY({{}}::text[]))",
            units,
            units,
            units,
        )


@dataclass
class Page:
    rows: list[asyncpg.Record]
    total: int
    cursors: list[tuple[str, UUID]] = field(default_factory=list)


async def _page(
    conn: Conn,
    select: str,
    q: Query,
    sort: Sort,
    after: tuple[str, UUID] | None,
    limit: int,
    id_column: str,
    count_from: str,
    page_from: str | None = None,
) -> Page:
    """A keyset page and the filtered total. ``count_from`` joins only what the filters need
    (the count dominates a page's cost); ``page_from`` adds what the rows show."""
    total = await conn.fetchval(f"SELECT count(*) {count_from}{q.sql}", *q.args)
    order = sort.page(q, after, id_column)
    rows = await conn.fetch(
        f"{select}, ({sort.expression})::text AS sort_value {page_from or count_from}{q.sql}"
        f"{order} LIMIT {int(limit)}",
        *q.args,
    )
    return Page(rows, total, [(r["sort_value"], r["id"]) for r in rows])


# ---------------------------------------------------------------- producers

_PRODUCER = (
    "p.id, p.name, p.legal_form, p.commune_code, p.version, p.registered_at, p.updated_at,"
    " p.registration_number, p.address, p.district_code, p.deregistered_at,"
    " p.deregistration_reason, p.personal_data_erased_at"
)


def _producer(row: asyncpg.Record, contacts: Sequence[asyncpg.Record] = ()) -> Producer:
    return Producer(
        id=row["id"],
        name=row["name"],
        legal_form=LegalForm(row["legal_form"]),
        commune_code=row["commune_code"],
        version=row["version"],
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
        registration_number=row["registration_number"],
        address=row["address"],
        district_code=row["district_code"],
        contacts=tuple(
            Person(
                c["full_name"],
                c["role"],
                c["phone"],
                c["email"],
                c["national_id"],
                c["home_address"],
            )
            for c in contacts
        ),
        deregistered_at=row["deregistered_at"],
        deregistration_reason=row["deregistration_reason"],
        personal_data_erased_at=row["personal_data_erased_at"],
    )


_PRODUCER_INSERT = (
    "INSERT INTO producers (id, name, legal_form, commune_code, version, registered_at,"
    " updated_at, registration_number, address, district_code)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


def _producer_args(p: Producer) -> tuple[Any, ...]:
    return (
        p.id,
        p.name,
        p.legal_form.value,
        p.commune_code,
        p.version,
        p.registered_at,
        p.updated_at,
        p.registration_number,
        p.address,
        p.district_code,
    )


async def insert_producer(conn: asyncpg.Connection, p: Producer) -> None:
    await conn.execute(_PRODUCER_INSERT, *_producer_args(p))
    if p.contacts:
        await _save_contacts(conn, p)


async def insert_producers(conn: asyncpg.Connection, producers: Sequence[Producer]) -> None:
    """Bulk insert (imports): the districts' lists carry no contact persons."""
    await conn.executemany(_PRODUCER_INSERT, [_producer_args(p) for p in producers])
    for p in producers:
        if p.contacts:
            await _save_contacts(conn, p)


async def _save_contacts(conn: asyncpg.Connection, p: Producer) -> None:
    await conn.execute("DELETE FROM producer_contacts WHERE producer_id = $1", p.id)
    await conn.executemany(
        "INSERT INTO producer_contacts VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (p.id, i, c.full_name, c.role, c.phone, c.email, c.national_id, c.home_address)
            for i, c in enumerate(p.contacts)
        ],
    )


async def save_producer(conn: asyncpg.Connection, p: Producer, *, contacts: bool) -> None:
    await conn.execute(
        "UPDATE producers SET name = $2, commune_code = $3, version = $4, updated_at = $5,"
        " address = $6, district_code = $7, deregistered_at = $8, deregistration_reason = $9,"
        " registration_number = $10, personal_data_erased_at = $11 WHERE id = $1",
        p.id,
        p.name,
        p.commune_code,
        p.version,
        p.updated_at,
        p.address,
        p.district_code,
        p.deregistered_at,
        p.deregistration_reason,
        p.registration_number,
        p.personal_data_erased_at,
    )
    if contacts:
        await _save_contacts(conn, p)


async def get_producer(
    conn: Conn, producer_id: UUID, *, for_update: bool = False, scope: Scope | None = None
) -> Producer | None:
    q = Query()
    q.add("p.id = {}", producer_id)
    _scope_clause(q, scope, "p", "p.id")
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_PRODUCER} FROM producers p{q.sql}{lock}", *q.args)
    if row is None:
        return None
    contacts = await conn.fetch(
        "SELECT * FROM producer_contacts WHERE producer_id = $1 ORDER BY position", producer_id
    )
    return _producer(row, contacts)


async def producer_by_registration(
    conn: Conn, legal_form: LegalForm, number: str
) -> Producer | None:
    row = await conn.fetchrow(
        "SELECT id FROM producers WHERE legal_form = $1 AND registration_number = $2",
        legal_form.value,
        number,
    )
    return await get_producer(conn, row["id"]) if row else None


async def count_active_products(conn: Conn, producer_id: UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM products WHERE producer_id = $1 AND deregistered_at IS NULL",
            producer_id,
        )
    )


PRODUCER_SORTS = {
    "registered_at": Sort("p.registered_at", "timestamptz"),
    "-registered_at": Sort("p.registered_at", "timestamptz", descending=True),
    "name": Sort("lower(p.name)", "text"),
    "-name": Sort("lower(p.name)", "text", descending=True),
}


@dataclass(frozen=True)
class ProducerFilter:
    legal_form: LegalForm | None = None
    commune: str | None = None
    district: str | None = None
    include_deregistered: bool = False


def _unit_clause(q: Query, f_commune: str | None, f_district: str | None, alias: str) -> None:
    if f_district is not None:
        q.add(f"{alias}.district_code = {{}}", f_district)
    if f_commune is not None:
        # A 2025 unit also covers the old communes that (wholly or partly) went into it; the
        # codes are computed first so that the commune index can be used.
        q.add(
            f"{alias}.commune_code = ANY(ARRAY(SELECT {{}}::text UNION"
            " SELECT old_code FROM admin_unit_successions WHERE new_code = {}))",
            f_commune,
            f_commune,
        )


async def list_producers(
    conn: Conn,
    f: ProducerFilter,
    *,
    sort: Sort,
    after: tuple[str, UUID] | None,
    limit: int,
    scope: Scope | None = None,
) -> tuple[list[Producer], Page]:
    q = Query()
    _scope_clause(q, scope, "p", "p.id")
    if f.legal_form is not None:
        q.add("p.legal_form = {}", f.legal_form.value)
    _unit_clause(q, f.commune, f.district, "p")
    if not f.include_deregistered:
        q.where.append("p.deregistered_at IS NULL")
    page = await _page(
        conn, f"SELECT {_PRODUCER}", q, sort, after, limit, "p.id", "FROM producers p"
    )
    return [_producer(r) for r in page.rows], page


# ---------------------------------------------------------------- units


async def load_admin_units(
    conn: asyncpg.Connection, units: list[AdminUnit], successions: list[Succession]
) -> None:
    """Upsert the shipped unit data (idempotent: corrections to names or dates apply)."""
    await conn.executemany(
        "INSERT INTO admin_units (code, valid_from, valid_to, level, kind, name, parent_code)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code, valid_from) DO UPDATE SET"
        " valid_to = EXCLUDED.valid_to, level = EXCLUDED.level, kind = EXCLUDED.kind,"
        " name = EXCLUDED.name, parent_code = EXCLUDED.parent_code",
        [(u.code, u.valid_from, u.valid_to, u.level, u.kind, u.name, u.parent_code) for u in units],
    )
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
    " WHERE u.code = ANY($1::text[]) AND u.level = 'commune'"
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


async def commune_versions(conn: Conn, code: str) -> list[UnitVersion]:
    return [_unit_version(r) for r in await conn.fetch(_UNIT_VERSIONS, [code])]


async def all_commune_versions(conn: Conn) -> dict[str, list[UnitVersion]]:
    """Every commune version by code, for bulk checks (an import validates rows in memory)."""
    rows = await conn.fetch(_UNIT_VERSIONS.replace("u.code = ANY($1::text[]) AND ", ""))
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


# ---------------------------------------------------------------- products

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


_PRODUCT_INSERT = (
    "INSERT INTO products (id, producer_id, name, name_key, public_code, classification,"
    " product_set, sector, statistics_sector, commune_code, commune_valid_from, district_code,"
    " registered_on, version, registered_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
)


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
    await conn.executemany(_PRODUCT_INSERT, [_product_args(p) for p in products])


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
    _scope_clause(q, scope, "p", "p.producer_id")
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


async def public_view(pool: asyncpg.Pool, code: str) -> PublicView | None:
    """What the public lookup shows, in two queries on one connection (no personal data is
    read: the producer's name is dropped by the caller for households)."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT {_PRODUCT}, pr.legal_form AS producer_legal_form,"
            " pr.name AS producer_name, u.name AS commune_name"
            " FROM products p JOIN producers pr ON pr.id = p.producer_id"
            " JOIN admin_units u ON u.code = p.commune_code AND u.valid_from = p.commune_valid_from"
            " WHERE p.public_code = $1",
            code,
        )
        if row is None:
            return None
        history = await certificates_of(conn, row["id"])
    return PublicView(
        product_of(row),
        LegalForm(row["producer_legal_form"]),
        row["producer_name"],
        row["commune_name"],
        history,
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


async def producers_by_registration(
    conn: Conn, keys: Sequence[tuple[LegalForm, str]]
) -> dict[tuple[LegalForm, str], Producer]:
    rows = await conn.fetch(
        f"SELECT {_PRODUCER} FROM producers p WHERE"
        " (p.legal_form, p.registration_number) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [k[0].value for k in keys],
        [k[1] for k in keys],
    )
    return {(LegalForm(r["legal_form"]), r["registration_number"]): _producer(r) for r in rows}


async def unnumbered_producers(conn: Conn, names: Sequence[str]) -> list[Producer]:
    """Producers without a registration number (cooperative groups) by exact name."""
    rows = await conn.fetch(
        f"SELECT {_PRODUCER} FROM producers p WHERE p.registration_number IS NULL"
        " AND p.deregistered_at IS NULL AND p.name = ANY($1::text[])",
        list(names),
    )
    return [_producer(r) for r in rows]


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
    conn: Conn,
    f: ProductFilter,
    *,
    today: date,
    sort: Sort,
    after: tuple[str, UUID] | None,
    limit: int,
    scope: Scope | None = None,
) -> Page:
    q = Query()
    _scope_clause(q, scope, "p", "p.producer_id")
    # A literal, not a parameter: the count query may not use it, and a date is safe to inline.
    status_sql = CERTIFICATE_STATUS_SQL.format(today=f"DATE '{today.isoformat()}'")
    if f.producer_id is not None:
        q.add("p.producer_id = {}", f.producer_id)
    if f.legal_form is not None:
        q.add("pr.legal_form = {}", f.legal_form.value)
    _unit_clause(q, f.commune, f.district, "p")
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
    return await _page(
        conn,
        select,
        q,
        sort,
        after,
        limit,
        "p.id",
        "FROM products p" + (producers_join if f.legal_form is not None else ""),
        "FROM products p"
        + producers_join
        + " JOIN admin_units u ON u.code = p.commune_code AND u.valid_from = p.commune_valid_from",
    )


# ---------------------------------------------------------------- certificates

_CERT = (
    "id, number, product_id, star, level, decision_number, decision_date, valid_from,"
    " valid_until, rulebook, score, replaces_id, revoked_on, revocation_grounds, expired_on"
)


def _certificate(r: asyncpg.Record) -> Certificate:
    return Certificate(
        id=r["id"],
        number=r["number"],
        product_id=r["product_id"],
        star=r["star"],
        level=r["level"],
        decision_number=r["decision_number"],
        decision_date=r["decision_date"],
        valid_from=r["valid_from"],
        valid_until=r["valid_until"],
        rulebook=r["rulebook"],
        score=r["score"],
        replaces_id=r["replaces_id"],
        revoked_on=r["revoked_on"],
        revocation_grounds=tuple(r["revocation_grounds"]),
        expired_on=r["expired_on"],
    )


async def record_certificate(conn: asyncpg.Connection, c: Certificate, at: datetime) -> None:
    await conn.execute(
        f"INSERT INTO certificates ({_CERT}, recorded_at) VALUES"
        " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT (id) DO NOTHING",
        c.id,
        c.number,
        c.product_id,
        c.star,
        c.level,
        c.decision_number,
        c.decision_date,
        c.valid_from,
        c.valid_until,
        c.rulebook,
        c.score,
        c.replaces_id,
        c.revoked_on,
        list(c.revocation_grounds),
        c.expired_on,
        at,
    )


async def end_certificate(
    conn: asyncpg.Connection,
    certificate_id: UUID,
    *,
    revoked_on: date | None = None,
    grounds: Sequence[str] = (),
    expired_on: date | None = None,
) -> bool:
    status = await conn.execute(
        "UPDATE certificates SET revoked_on = coalesce($2, revoked_on),"
        " revocation_grounds = CASE WHEN $2::date IS NULL THEN revocation_grounds ELSE $3 END,"
        " expired_on = coalesce($4, expired_on) WHERE id = $1",
        certificate_id,
        revoked_on,
        list(grounds),
        expired_on,
    )
    return bool(status.endswith(" 1"))


async def certificates_of(conn: Conn, product_id: UUID) -> list[Certificate]:
    rows = await conn.fetch(
        f"SELECT {_CERT} FROM certificates WHERE product_id = $1 ORDER BY valid_from, recorded_at",
        product_id,
    )
    return [_certificate(r) for r in rows]


async def set_current_certificate(
    conn: asyncpg.Connection, product_id: UUID, c: Certificate | None
) -> None:
    await conn.execute(
        "UPDATE products SET certificate_id = $2, star = $3, certificate_number = $4,"
        " certificate_from = $5, certificate_until = $6, certificate_revoked = $7,"
        " certificate_expired = $8 WHERE id = $1",
        product_id,
        c.id if c else None,
        c.star if c else None,
        c.number if c else None,
        c.valid_from if c else None,
        c.valid_until if c else None,
        c.revoked_on if c else None,
        c.expired_on if c else None,
    )


# ---------------------------------------------------------------- applications

_APPLICATION = (
    "a.id, a.product_id, a.producer_id, a.kind, a.round_year, a.status, a.documents,"
    " a.self_assessment_score, a.regime, a.submitted_at, a.reasons, a.version, a.created_at,"
    " a.updated_at"
)


def _application(r: asyncpg.Record) -> Application:
    return Application(
        id=r["id"],
        product_id=r["product_id"],
        producer_id=r["producer_id"],
        kind=ApplicationKind(r["kind"]),
        round_year=r["round_year"],
        status=ApplicationStatus(r["status"]),
        documents=tuple(
            EvidenceFile(
                document_type=DocumentType(d["document_type"]),
                name=d["name"],
                media_type=d["media_type"],
                size_bytes=d["size_bytes"],
                sha256=d["sha256"],
                storage_url=d["storage_url"],
            )
            for d in json.loads(r["documents"])
        ),
        version=r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        self_assessment_score=r["self_assessment_score"],
        regime=Regime(r["regime"]) if r["regime"] else None,
        submitted_at=r["submitted_at"],
        reasons=tuple(r["reasons"]),
    )


def _documents_json(a: Application) -> str:
    return json.dumps(
        [
            {
                "document_type": d.document_type.value,
                "name": d.name,
                "media_type": d.media_type,
                "size_bytes": d.size_bytes,
                "sha256": d.sha256,
                "storage_url": d.storage_url,
            }
            for d in a.documents
        ],
        ensure_ascii=False,
    )


async def insert_application(conn: asyncpg.Connection, a: Application) -> None:
    await conn.execute(
        "INSERT INTO applications (id, product_id, producer_id, kind, round_year, status,"
        " documents, self_assessment_score, regime, submitted_at, reasons, version,"
        " created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14)",
        a.id,
        a.product_id,
        a.producer_id,
        a.kind.value,
        a.round_year,
        a.status.value,
        _documents_json(a),
        a.self_assessment_score,
        a.regime.value if a.regime else None,
        a.submitted_at,
        list(a.reasons),
        a.version,
        a.created_at,
        a.updated_at,
    )


async def save_application(conn: asyncpg.Connection, a: Application) -> None:
    await conn.execute(
        "UPDATE applications SET kind = $2, round_year = $3, status = $4, documents = $5::jsonb,"
        " self_assessment_score = $6, regime = $7, submitted_at = $8, reasons = $9,"
        " version = $10, updated_at = $11 WHERE id = $1",
        a.id,
        a.kind.value,
        a.round_year,
        a.status.value,
        _documents_json(a),
        a.self_assessment_score,
        a.regime.value if a.regime else None,
        a.submitted_at,
        list(a.reasons),
        a.version,
        a.updated_at,
    )


async def get_application(
    conn: Conn, application_id: UUID, *, for_update: bool = False, scope: Scope | None = None
) -> Application | None:
    q = Query()
    q.add("a.id = {}", application_id)
    _scope_clause(q, scope, "p", "a.producer_id")
    lock = " FOR UPDATE OF a" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_APPLICATION} FROM applications a JOIN products p ON p.id = a.product_id"
        f"{q.sql}{lock}",
        *q.args,
    )
    return _application(row) if row else None


async def open_application_of(conn: Conn, product_id: UUID) -> UUID | None:
    value = await conn.fetchval(
        "SELECT id FROM applications WHERE product_id = $1"
        " AND status IN ('draft', 'submitted', 'returned', 'accepted')",
        product_id,
    )
    return value if isinstance(value, UUID) else None


APPLICATION_SORTS = {
    "created_at": Sort("a.created_at", "timestamptz"),
    "-created_at": Sort("a.created_at", "timestamptz", descending=True),
    "submitted_at": Sort("coalesce(a.submitted_at, a.created_at)", "timestamptz"),
    "-submitted_at": Sort("coalesce(a.submitted_at, a.created_at)", "timestamptz", True),
}


@dataclass(frozen=True)
class ApplicationFilter:
    product_id: UUID | None = None
    producer_id: UUID | None = None
    status: ApplicationStatus | None = None
    kind: ApplicationKind | None = None
    year: int | None = None
    commune: str | None = None
    district: str | None = None
    product_set: str | None = None


async def list_applications(
    conn: Conn,
    f: ApplicationFilter,
    *,
    sort: Sort,
    after: tuple[str, UUID] | None,
    limit: int,
    scope: Scope | None = None,
) -> tuple[list[Application], Page]:
    q = Query()
    _scope_clause(q, scope, "p", "a.producer_id")
    if f.product_id is not None:
        q.add("a.product_id = {}", f.product_id)
    if f.producer_id is not None:
        q.add("a.producer_id = {}", f.producer_id)
    if f.status is not None:
        q.add("a.status = {}", f.status.value)
    if f.kind is not None:
        q.add("a.kind = {}", f.kind.value)
    if f.year is not None:
        q.add("a.round_year = {}", f.year)
    if f.product_set is not None:
        q.add("p.product_set = {}", f.product_set)
    _unit_clause(q, f.commune, f.district, "p")
    page = await _page(
        conn,
        f"SELECT {_APPLICATION}",
        q,
        sort,
        after,
        limit,
        "a.id",
        "FROM applications a JOIN products p ON p.id = a.product_id",
    )
    return [_application(r) for r in page.rows], page
