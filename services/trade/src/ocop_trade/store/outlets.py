"""Points of sale and their listings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page
from ocop_trade import domain
from ocop_trade.store.common import Conn, lock


def _outlet(row: asyncpg.Record) -> domain.Outlet:
    return domain.Outlet(
        id=row["id"],
        name=row["name"],
        operator=row["operator"],
        location_type=domain.LocationType(row["location_type"]),
        unit_code=row["unit_code"],
        opened_on=row["opened_on"],
        district_code=row["district_code"],
        address=row["address"],
        closed_on=row["closed_on"],
        close_reason=row["close_reason"],
    )


async def get_outlet(
    conn: Conn, outlet_id: UUID, *, for_update: bool = False
) -> domain.Outlet | None:
    row = await conn.fetchrow(f"SELECT * FROM outlets WHERE id = $1{lock(for_update)}", outlet_id)
    return _outlet(row) if row else None


async def save_outlet(conn: asyncpg.Connection, o: domain.Outlet, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO outlets (id, name, operator, location_type, unit_code, district_code,"
        " address, opened_on, closed_on, close_reason, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, operator = EXCLUDED.operator,"
        " location_type = EXCLUDED.location_type, unit_code = EXCLUDED.unit_code,"
        " district_code = EXCLUDED.district_code, address = EXCLUDED.address,"
        " opened_on = EXCLUDED.opened_on, closed_on = EXCLUDED.closed_on,"
        " close_reason = EXCLUDED.close_reason",
        o.id,
        o.name,
        o.operator,
        o.location_type.value,
        o.unit_code,
        o.district_code,
        o.address,
        o.opened_on,
        o.closed_on,
        o.close_reason,
        at,
    )


OUTLET_SORTS = {
    "opened_on": Sort("o.opened_on", "date"),
    "-opened_on": Sort("o.opened_on", "date", descending=True),
    "name": Sort("o.name", "text"),
}


@dataclass(frozen=True)
class OutletFilter:
    """``open_on``: outlets open that day; ``from_date``/``to_date``: opened in that range."""

    location_type: domain.LocationType | None = None
    unit: str | None = None
    open_on: date | None = None
    from_date: date | None = None
    to_date: date | None = None
    closed: bool | None = None
    product_id: UUID | None = None
    producer_id: UUID | None = None


async def list_outlets(
    conn: Conn, f: OutletFilter, keyset: Keyset
) -> tuple[list[domain.Outlet], Page]:
    q = Query()
    if f.location_type is not None:
        q.add("o.location_type = {}", f.location_type.value)
    if f.unit is not None:
        q.add("(o.unit_code = {} OR o.district_code = {})", f.unit, f.unit)
    if f.open_on is not None:
        q.add(
            "o.opened_on <= {} AND (o.closed_on IS NULL OR o.closed_on > {})", f.open_on, f.open_on
        )
    if f.from_date is not None:
        q.add("o.opened_on >= {}", f.from_date)
    if f.to_date is not None:
        q.add("o.opened_on <= {}", f.to_date)
    if f.closed is not None:
        q.where.append("o.closed_on IS NOT NULL" if f.closed else "o.closed_on IS NULL")
    if f.product_id is not None:
        q.add(
            "o.id IN (SELECT outlet_id FROM listings WHERE product_id = {}"
            " AND status <> 'delisted')",
            f.product_id,
        )
    if f.producer_id is not None:
        q.add(
            "o.id IN (SELECT outlet_id FROM listings WHERE producer_id = {}"
            " AND status <> 'delisted')",
            f.producer_id,
        )
    page = await fetch_page(
        conn, "SELECT o.*", q, keyset, id_column="o.id", count_from="FROM outlets o"
    )
    return [_outlet(r) for r in page.rows], page


# ---------------------------------------------------------------- listings


def _listing(row: asyncpg.Record) -> domain.Listing:
    return domain.Listing(
        id=row["id"],
        outlet_id=row["outlet_id"],
        basis=domain.ListingBasis(row["basis"]),
        goods_name=row["goods_name"],
        listed_on=row["listed_on"],
        status=domain.ListingStatus(row["status"]),
        product_id=row["product_id"],
        producer_id=row["producer_id"],
        star=row["star"],
        certificate_id=row["certificate_id"],
        suspended_on=row["suspended_on"],
        suspension_reason=row["suspension_reason"],
        suspension_detail=row["suspension_detail"],
        delisted_on=row["delisted_on"],
        delist_reason=row["delist_reason"],
    )


async def get_listing(
    conn: Conn, listing_id: UUID, *, for_update: bool = False
) -> domain.Listing | None:
    row = await conn.fetchrow(f"SELECT * FROM listings WHERE id = $1{lock(for_update)}", listing_id)
    return _listing(row) if row else None


async def listings_of_outlet(
    conn: Conn, outlet_id: UUID, *, current: bool = True, for_update: bool = False
) -> list[domain.Listing]:
    """An outlet's listings (only those not delisted, when ``current``)."""
    rows = await conn.fetch(
        "SELECT * FROM listings WHERE outlet_id = $1"
        + (" AND status <> 'delisted'" if current else "")
        + f" ORDER BY id{lock(for_update)}",
        outlet_id,
    )
    return [_listing(r) for r in rows]


async def ocop_listings_of_products(
    conn: asyncpg.Connection, product_ids: Sequence[UUID], *, every_basis: bool = False
) -> list[domain.Listing]:
    """The OCOP listings (or listings on any basis) of these products that are not delisted,
    locked, in one statement."""
    rows = await conn.fetch(
        "SELECT * FROM listings WHERE product_id = ANY($1::uuid[])"
        + ("" if every_basis else " AND basis = 'ocop'")
        + " AND status <> 'delisted' ORDER BY id FOR UPDATE",
        list(product_ids),
    )
    return [_listing(r) for r in rows]


def _listing_args(x: domain.Listing, at: datetime) -> tuple[Any, ...]:
    return (
        x.id,
        x.outlet_id,
        x.basis.value,
        x.goods_name,
        x.product_id,
        x.producer_id,
        x.star,
        x.certificate_id,
        x.status.value,
        x.listed_on,
        x.suspended_on,
        x.suspension_reason,
        x.suspension_detail,
        x.delisted_on,
        x.delist_reason,
        at,
    )


_SAVE_LISTING = (
    "INSERT INTO listings (id, outlet_id, basis, goods_name, product_id, producer_id, star,"
    " certificate_id, status, listed_on, suspended_on, suspension_reason, suspension_detail,"
    " delisted_on, delist_reason, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    " ON CONFLICT (id) DO UPDATE SET star = EXCLUDED.star,"
    " certificate_id = EXCLUDED.certificate_id, status = EXCLUDED.status,"
    " suspended_on = EXCLUDED.suspended_on, suspension_reason = EXCLUDED.suspension_reason,"
    " suspension_detail = EXCLUDED.suspension_detail, delisted_on = EXCLUDED.delisted_on,"
    " delist_reason = EXCLUDED.delist_reason, updated_at = EXCLUDED.updated_at"
)


async def save_listings(
    conn: asyncpg.Connection, listings: Sequence[domain.Listing], at: datetime
) -> None:
    if listings:
        await conn.executemany(_SAVE_LISTING, [_listing_args(x, at) for x in listings])


LISTING_SORTS = {
    "listed_on": Sort("l.listed_on", "date"),
    "-listed_on": Sort("l.listed_on", "date", descending=True),
    "updated_at": Sort("l.updated_at", "timestamptz"),
    "-updated_at": Sort("l.updated_at", "timestamptz", descending=True),
}


@dataclass(frozen=True)
class ListingFilter:
    outlet_id: UUID | None = None
    product_id: UUID | None = None
    producer_id: UUID | None = None
    status: domain.ListingStatus | None = None
    basis: domain.ListingBasis | None = None
    star: int | None = None
    unit: str | None = None
    from_date: date | None = None
    to_date: date | None = None


async def list_listings(
    conn: Conn, f: ListingFilter, keyset: Keyset
) -> tuple[list[domain.Listing], Page]:
    q = Query()
    tables = "FROM listings l"
    if f.unit is not None:
        tables += " JOIN outlets o ON o.id = l.outlet_id"
        q.add("(o.unit_code = {} OR o.district_code = {})", f.unit, f.unit)
    for column, value in (
        ("l.outlet_id", f.outlet_id),
        ("l.product_id", f.product_id),
        ("l.producer_id", f.producer_id),
        ("l.star", f.star),
    ):
        if value is not None:
            q.add(f"{column} = {{}}", value)
    if f.status is not None:
        q.add("l.status = {}", f.status.value)
    if f.basis is not None:
        q.add("l.basis = {}", f.basis.value)
    if f.from_date is not None:
        q.add("l.listed_on >= {}", f.from_date)
    if f.to_date is not None:
        q.add("l.listed_on <= {}", f.to_date)
    page = await fetch_page(conn, "SELECT l.*", q, keyset, id_column="l.id", count_from=tables)
    return [_listing(r) for r in page.rows], page
