"""Points of sale and their listings: opening, closing, listing goods, delisting, restoring a
suspended listing, and the lists."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, status
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_runtime.paging import ListPage, page_of
from ocop_trade import domain, store
from ocop_trade.api.common import (
    UNIT,
    Ctx,
    Cursor,
    Day,
    Limit,
    Officer,
    QueryDay,
    T,
    Text,
    Unit,
    not_found,
    use_case,
)

outlets_router = APIRouter(tags=["points of sale"])

LocationTypeName = Literal[
    "transport_hub",
    "highway_stop",
    "mall_market",
    "tourist_site_hotel",
    "craft_village",
    "commercial_centre",
    "fair_centre",
    "post_office",
]
BasisName = Literal["ocop", "provincial_key_product", "typical_rural_product", "local_specialty"]


class OutletChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(examples=["Điểm giới thiệu và bán sản phẩm OCOP Bát Tràng"])
    operator: Text
    location_type: LocationTypeName
    unit_code: str = Field(pattern=UNIT, description="Commune/ward, or pre-2025 district.")
    district_code: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    address: str | None = Field(default=None, max_length=300)
    opened_on: Day


class OutletIn(OutletChange):
    id: UUID | None = Field(default=None, description="Choose it to make a resend harmless.")


class OutletOut(BaseModel):
    id: UUID
    name: str
    operator: str
    location_type: str
    unit_code: str
    district_code: str | None
    address: str | None
    opened_on: Day
    closed_on: Day | None
    close_reason: str | None
    status: str = Field(description="open or closed")

    @classmethod
    def of(cls, o: domain.Outlet) -> OutletOut:
        return cls(
            id=o.id,
            name=o.name,
            operator=o.operator,
            location_type=o.location_type.value,
            unit_code=o.unit_code,
            district_code=o.district_code,
            address=o.address,
            opened_on=o.opened_on,
            closed_on=o.closed_on,
            close_reason=o.close_reason,
            status="closed" if o.closed_on else "open",
        )


def _outlet(outlet_id: UUID, body: OutletChange) -> domain.Outlet:
    return domain.Outlet(
        id=outlet_id,
        name=body.name,
        operator=body.operator,
        location_type=domain.LocationType(body.location_type),
        unit_code=body.unit_code,
        opened_on=body.opened_on,
        district_code=body.district_code or (body.unit_code if len(body.unit_code) == 3 else None),
        address=body.address,
    )


@outlets_router.post("/outlets", status_code=status.HTTP_201_CREATED, response_model=OutletOut)
async def open_outlet(body: OutletIn, ctx: Ctx, who: Officer, t: T) -> OutletOut:
    """Open a point of sale."""
    outlet = _outlet(body.id or uuid4(), body)
    async with use_case(ctx, "open_outlet", who, outlet.id) as (conn, outcome):
        opened, created = await t.open_outlet(conn, outlet)
        outcome.result = "created" if created else "repeat"
    return OutletOut.of(opened)


class OutletPage(ListPage[OutletOut]):
    """Outlets matching the filters, a page at a time."""


@outlets_router.get("/outlets", response_model=OutletPage)
async def list_outlets(
    ctx: Ctx,
    who: Officer,
    location_type: LocationTypeName | None = None,
    unit: Unit = None,
    open_on: Annotated[QueryDay, Q(description="Outlets open on this day.")] = None,
    from_date: Annotated[QueryDay, Q(description="Opened on or after this day.")] = None,
    to_date: Annotated[QueryDay, Q(description="Opened on or before this day.")] = None,
    status: Literal["open", "closed"] | None = None,
    product_id: Annotated[UUID | None, Q(description="Outlets listing it.")] = None,
    producer_id: Annotated[UUID | None, Q(description="Outlets listing its goods.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, Q(max_length=40, description=", ".join(store.OUTLET_SORTS))] = "opened_on",
) -> OutletPage:
    """Points of sale, earliest opened first unless ``sort`` says otherwise."""
    f = store.OutletFilter(
        location_type=domain.LocationType(location_type) if location_type else None,
        unit=unit,
        open_on=open_on,
        from_date=from_date,
        to_date=to_date,
        closed=None if status is None else status == "closed",
        product_id=product_id,
        producer_id=producer_id,
    )
    found, total, next_cursor = await page_of(
        store.OUTLET_SORTS, sort, cursor, limit, lambda k: store.list_outlets(ctx.pool, f, k)
    )
    return OutletPage(items=[OutletOut.of(o) for o in found], total=total, next_cursor=next_cursor)


@outlets_router.get("/outlets/{outlet_id}", response_model=OutletOut)
async def get_outlet(outlet_id: UUID, ctx: Ctx, who: Officer) -> OutletOut:
    found = await store.get_outlet(ctx.pool, outlet_id)
    if found is None:
        raise not_found("outlet_id", f"outlet {outlet_id} does not exist")
    return OutletOut.of(found)


@outlets_router.put("/outlets/{outlet_id}", response_model=OutletOut)
async def change_outlet(
    outlet_id: UUID, body: OutletChange, ctx: Ctx, who: Officer, t: T
) -> OutletOut:
    """New details of an open outlet (it cannot open after a good it lists was listed)."""
    async with use_case(ctx, "change_outlet", who, outlet_id) as (conn, _):
        changed = await t.change_outlet(conn, outlet_id, _outlet(outlet_id, body))
    return OutletOut.of(changed)


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_on: Day
    reason: Text


@outlets_router.post("/outlets/{outlet_id}/closure", response_model=OutletOut)
async def close_outlet(outlet_id: UUID, body: ClosureIn, ctx: Ctx, who: Officer, t: T) -> OutletOut:
    """Close a point of sale; its listings are delisted with it."""
    async with use_case(ctx, "close_outlet", who, outlet_id) as (conn, _):
        closed = await t.close_outlet(conn, outlet_id, body.closed_on, body.reason)
    return OutletOut.of(closed)


# ---------------------------------------------------------------- listings


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="Choose it to make a resend harmless.")
    basis: BasisName = Field(
        description="ocop: a certified product (needs a live certificate); otherwise the other"
        " criterion it meets."
    )
    product_id: UUID | None = Field(default=None, description="Required for an OCOP listing.")
    producer_id: UUID | None = Field(
        default=None, description="For other goods; an OCOP product's comes from the registry."
    )
    goods_name: str | None = Field(
        default=None, max_length=300, description="Required for other goods."
    )
    listed_on: Day | None = Field(default=None, description="Default: today (Hanoi).")


class ListingOut(BaseModel):
    id: UUID
    outlet_id: UUID
    basis: str
    goods_name: str
    product_id: UUID | None
    producer_id: UUID | None
    star: int | None
    certificate_id: UUID | None
    status: str = Field(description="live, suspended or delisted")
    listed_on: Day
    suspended_on: Day | None
    suspension_reason: str | None = Field(
        description="Why it is off sale: certificate_expired, certificate_revoked,"
        " certificate_ended or no_live_certificate."
    )
    suspension_detail: str | None
    delisted_on: Day | None
    delist_reason: str | None

    @classmethod
    def of(cls, x: domain.Listing) -> ListingOut:
        return cls(
            id=x.id,
            outlet_id=x.outlet_id,
            basis=x.basis.value,
            goods_name=x.goods_name,
            product_id=x.product_id,
            producer_id=x.producer_id,
            star=x.star,
            certificate_id=x.certificate_id,
            status=x.status.value,
            listed_on=x.listed_on,
            suspended_on=x.suspended_on,
            suspension_reason=x.suspension_reason,
            suspension_detail=x.suspension_detail,
            delisted_on=x.delisted_on,
            delist_reason=x.delist_reason,
        )


@outlets_router.post(
    "/outlets/{outlet_id}/listings", status_code=status.HTTP_201_CREATED, response_model=ListingOut
)
async def list_good(outlet_id: UUID, body: ListingIn, ctx: Ctx, who: Officer, t: T) -> ListingOut:
    """List a good at an open outlet. An OCOP product needs a live certificate on the day
    (422 otherwise); a closed outlet lists nothing (409)."""
    listing = domain.Listing(
        id=body.id or uuid4(),
        outlet_id=outlet_id,
        basis=domain.ListingBasis(body.basis),
        goods_name=(body.goods_name or "").strip(),
        listed_on=body.listed_on or t.today(),
        product_id=body.product_id,
        producer_id=body.producer_id,
    )
    async with use_case(ctx, "list_good", who, listing.id) as (conn, outcome):
        listed, created = await t.list_good(conn, listing)
        outcome.result = "created" if created else "repeat"
    return ListingOut.of(listed)


class ListingPage(ListPage[ListingOut]):
    """Listings matching the filters, a page at a time."""


@outlets_router.get("/listings", response_model=ListingPage)
async def list_listings(
    ctx: Ctx,
    who: Officer,
    outlet_id: UUID | None = None,
    product_id: UUID | None = None,
    producer_id: UUID | None = None,
    status: Literal["live", "suspended", "delisted"] | None = None,
    basis: BasisName | None = None,
    star: Annotated[int | None, Q(ge=3, le=5)] = None,
    unit: Unit = None,
    from_date: Annotated[QueryDay, Q(description="Listed on or after this day.")] = None,
    to_date: Annotated[QueryDay, Q(description="Listed on or before this day.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[
        str, Q(max_length=40, description=", ".join(store.LISTING_SORTS))
    ] = "listed_on",
) -> ListingPage:
    """Listings, with why a suspended one is off sale; ``unit`` is the outlet's."""
    f = store.ListingFilter(
        outlet_id=outlet_id,
        product_id=product_id,
        producer_id=producer_id,
        status=domain.ListingStatus(status) if status else None,
        basis=domain.ListingBasis(basis) if basis else None,
        star=star,
        unit=unit,
        from_date=from_date,
        to_date=to_date,
    )
    found, total, next_cursor = await page_of(
        store.LISTING_SORTS, sort, cursor, limit, lambda k: store.list_listings(ctx.pool, f, k)
    )
    return ListingPage(
        items=[ListingOut.of(x) for x in found], total=total, next_cursor=next_cursor
    )


@outlets_router.get("/listings/{listing_id}", response_model=ListingOut)
async def get_listing(listing_id: UUID, ctx: Ctx, who: Officer) -> ListingOut:
    """A listing and its status: live, suspended (with the reason) or delisted."""
    found = await store.get_listing(ctx.pool, listing_id)
    if found is None:
        raise not_found("listing_id", f"listing {listing_id} does not exist")
    return ListingOut.of(found)


class DelistingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text
    delisted_on: Day | None = Field(default=None, description="Default: today (Hanoi).")


@outlets_router.post("/listings/{listing_id}/delisting", response_model=ListingOut)
async def delist(listing_id: UUID, body: DelistingIn, ctx: Ctx, who: Officer, t: T) -> ListingOut:
    async with use_case(ctx, "delist", who, listing_id) as (conn, _):
        ended = await t.delist(conn, listing_id, body.delisted_on or t.today(), body.reason)
    return ListingOut.of(ended)


@outlets_router.post("/listings/{listing_id}/restoration", response_model=ListingOut)
async def restore_listing(listing_id: UUID, ctx: Ctx, who: Officer, t: T) -> ListingOut:
    """Put a suspended listing back on sale once its product holds a live certificate again
    (a new certificate restores it by itself; this is for the outlet that wants it now)."""
    async with use_case(ctx, "restore_listing", who, listing_id) as (conn, _):
        restored = await t.restore(conn, listing_id)
    return ListingOut.of(restored)
