"""Producers and their contact persons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ocop_registry.domain import LegalForm, Person, Producer
from ocop_registry.store.scope import Scope, scope_clause, unit_clause
from ocop_runtime.db import insert_statement
from ocop_runtime.paging import Conn, Keyset, Page, Query, Sort, fetch_page

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


_PRODUCER_COLUMNS = (
    "id",
    "name",
    "legal_form",
    "commune_code",
    "version",
    "registered_at",
    "updated_at",
    "registration_number",
    "address",
    "district_code",
)
_PRODUCER_INSERT = insert_statement("producers", _PRODUCER_COLUMNS)


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


async def insert_producer(conn: asyncpg.Connection, p: Producer) -> bool:
    """Insert ``p`` unless its id or its registration number is taken; whether it was."""
    inserted = await conn.fetchval(
        f"{_PRODUCER_INSERT} ON CONFLICT DO NOTHING RETURNING true", *_producer_args(p)
    )
    if inserted and p.contacts:
        await _save_contacts(conn, p)
    return bool(inserted)


async def insert_producers(conn: asyncpg.Connection, producers: Sequence[Producer]) -> None:
    """Bulk insert (imports) in one ``COPY``, not one statement per row; the districts' lists
    carry no contact persons."""
    if producers:
        await conn.copy_records_to_table(
            "producers", records=[_producer_args(p) for p in producers], columns=_PRODUCER_COLUMNS
        )
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
    scope_clause(q, scope, "p", "p.id")
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_PRODUCER} FROM producers p{q.sql}{lock}", *q.args)
    if row is None:
        return None
    contacts = await conn.fetch(
        "SELECT * FROM producer_contacts WHERE producer_id = $1 ORDER BY position", producer_id
    )
    return _producer(row, contacts)


async def producers_in_scope(conn: Conn, ids: Sequence[UUID], scope: Scope | None) -> set[UUID]:
    """Those of ``ids`` the caller with ``scope`` may see."""
    if scope is None or scope.everything:
        return set(ids)
    q = Query()
    q.add("p.id = ANY({}::uuid[])", list(ids))
    scope_clause(q, scope, "p", "p.id")
    return {r["id"] for r in await conn.fetch(f"SELECT p.id FROM producers p{q.sql}", *q.args)}


async def producer_by_registration(
    conn: Conn, legal_form: LegalForm, number: str
) -> Producer | None:
    row = await conn.fetchrow(
        "SELECT id FROM producers WHERE legal_form = $1 AND registration_number = $2",
        legal_form.value,
        number,
    )
    return await get_producer(conn, row["id"]) if row else None


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


async def list_producers(
    conn: Conn, f: ProducerFilter, keyset: Keyset, *, scope: Scope | None = None
) -> tuple[list[Producer], Page]:
    q = Query()
    scope_clause(q, scope, "p", "p.id")
    if f.legal_form is not None:
        q.add("p.legal_form = {}", f.legal_form.value)
    unit_clause(q, f.commune, f.district, "p")
    if not f.include_deregistered:
        q.where.append("p.deregistered_at IS NULL")
    page = await fetch_page(
        conn,
        f"SELECT {_PRODUCER}",
        q,
        keyset,
        id_column="p.id",
        count_from="FROM producers p",
    )
    return [_producer(r) for r in page.rows], page
