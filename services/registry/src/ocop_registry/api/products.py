"""Products: registration (classification, public code, lookup URL), reading with today's
certificate, changes, deregistration and the filtered list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ocop_registry import domain, store
from ocop_registry.api.common import (
    COMMUNE,
    DISTRICT,
    Ctx,
    Deregistration,
    Limit,
    Owners,
    Readers,
    Reg,
    scope_of,
    use_case,
)
from ocop_registry.domain import certificates as certs
from ocop_registry.domain import products
from ocop_registry.publishing import lookup_url
from ocop_runtime.paging import Keyset, ListPage, Page, page_of

products_router = APIRouter(prefix="/products", tags=["products"])


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(
        default=None,
        description="Client-chosen id: repeating the same request has no second effect.",
    )
    producer_id: UUID
    name: str = Field(min_length=1, max_length=300, examples=["Gạo nếp cái hoa vàng"])
    product_set: str = Field(
        max_length=80,
        description="Product set code under the classification in force (GET /classification).",
    )
    commune_code: str = Field(pattern=COMMUNE, description="Commune/ward of production")
    registered_on: date | None = Field(
        default=None, description="Registration date when recording an earlier one (default today)."
    )


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    product_set: str | None = Field(
        default=None, max_length=80, description="Reclassify under the classification in force."
    )


class ProductOut(BaseModel):
    id: UUID
    producer_id: UUID
    name: str
    public_code: str
    lookup_url: str
    classification: str
    product_set: str
    sector: str
    statistics_sector: str
    commune_code: str
    district_code: str | None
    registered_on: date
    version: int
    registered_at: datetime
    updated_at: datetime
    deregistered_at: datetime | None
    star: int | None = None
    certificate_number: str | None = None
    certificate_valid_until: date | None = None
    certificate_status: certs.CertificateStatus = certs.CertificateStatus.NOT_CERTIFIED

    @classmethod
    def of(cls, p: products.Product, base_url: str, **certificate: Any) -> ProductOut:
        return cls(
            id=p.id,
            producer_id=p.producer_id,
            name=p.name,
            public_code=p.public_code,
            lookup_url=lookup_url(base_url, p),
            classification=p.classification,
            product_set=p.product_set,
            sector=p.sector,
            statistics_sector=p.statistics_sector,
            commune_code=p.commune_code,
            district_code=p.district_code,
            registered_on=p.registered_on,
            version=p.version,
            registered_at=p.registered_at,
            updated_at=p.updated_at,
            deregistered_at=p.deregistered_at,
            **certificate,
        )


def _certificate_fields(history: list[certs.Certificate], day: date) -> dict[str, Any]:
    current = certs.certificate_on(history, day)
    if current is None:
        return {}
    return {
        "star": current.star,
        "certificate_number": current.number,
        "certificate_valid_until": current.valid_until,
        "certificate_status": current.status_on(day),
    }


class ProductPage(ListPage[ProductOut]):
    """Products matching the filters, a page at a time."""


@products_router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
async def register_product(
    body: ProductIn, ctx: Ctx, who: Owners, reg: Reg, response: Response
) -> ProductOut:
    """Register a product: classified under the rules in force on ``registered_on``, given a
    public code (province-commune-sequence-year) and a lookup URL for its QR code."""
    async with use_case(ctx, "register_product", who) as (conn, outcome):
        product, created = await reg.register_product(
            conn,
            products.RegisterProduct(
                producer_id=body.producer_id,
                name=body.name,
                product_set=body.product_set,
                commune_code=body.commune_code,
                registered_on=body.registered_on,
            ),
            body.id,
            scope_of(who),
        )
        outcome.aggregate_id, outcome.result = product.id, "created" if created else "repeat"
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/products/{product.id}"
    return ProductOut.of(product, reg.public_base_url)


@products_router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: UUID, ctx: Ctx, who: Readers, reg: Reg) -> ProductOut:
    product = await store.get_product(ctx.pool, product_id, scope=scope_of(who))
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} is not registered")
    history = await store.certificates_of(ctx.pool, product_id)
    return ProductOut.of(
        product, reg.public_base_url, **_certificate_fields(history, reg.clock().date())
    )


@products_router.patch("/{product_id}", response_model=ProductOut)
async def update_product(
    product_id: UUID, body: ProductPatch, ctx: Ctx, who: Owners, reg: Reg
) -> ProductOut:
    async with use_case(ctx, "update_product", who, product_id) as (conn, _):
        product = await reg.update_product(
            conn,
            product_id,
            products.UpdateProduct(name=body.name, product_set=body.product_set),
            scope_of(who),
        )
    return ProductOut.of(product, reg.public_base_url)


@products_router.post("/{product_id}/deregistration", response_model=ProductOut)
async def deregister_product(
    product_id: UUID, body: Deregistration, ctx: Ctx, who: Owners, reg: Reg
) -> ProductOut:
    """Take a product off the registry; refused while it holds a live certificate."""
    async with use_case(ctx, "deregister_product", who, product_id) as (conn, _):
        product = await reg.deregister_product(conn, product_id, body.reason, scope_of(who))
    return ProductOut.of(product, reg.public_base_url)


@products_router.get("", response_model=ProductPage)
async def list_products(
    ctx: Ctx,
    who: Readers,
    reg: Reg,
    limit: Limit = 50,
    cursor: str | None = None,
    producer_id: UUID | None = None,
    legal_form: domain.LegalForm | None = None,
    commune: Annotated[
        str | None,
        Query(
            pattern=COMMUNE,
            description="Commune/ward, old or new: a 2025 unit also matches the old communes merged into it",
        ),
    ] = None,
    district: Annotated[
        str | None, Query(pattern=DISTRICT, description="Pre-2025 district")
    ] = None,
    product_set: Annotated[str | None, Query(max_length=80)] = None,
    sector: Annotated[
        str | None, Query(max_length=40, description="Sector of either scheme")
    ] = None,
    star: Annotated[int | None, Query(ge=3, le=5)] = None,
    certificate_status: certs.CertificateStatus | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Registration year")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Name contains")
    ] = None,
    include_deregistered: bool = False,
    sort: Annotated[str, Query(description=", ".join(store.PRODUCT_SORTS))] = "registered_at",
) -> ProductPage:
    filters = store.ProductFilter(
        producer_id=producer_id,
        legal_form=legal_form,
        commune=commune,
        district=district,
        product_set=product_set,
        sector=sector,
        star=star,
        status=certificate_status.value if certificate_status else None,
        year=year,
        q=q,
        include_deregistered=include_deregistered,
    )
    today = reg.clock().date()

    async def fetch(keyset: Keyset) -> tuple[list[asyncpg.Record], Page]:
        page = await store.list_products(
            ctx.pool, filters, keyset, today=today, scope=scope_of(who)
        )
        return page.rows, page

    rows, total, next_cursor = await page_of(store.PRODUCT_SORTS, sort, cursor, limit, fetch)
    items = [
        ProductOut.of(
            store.product_of(r),
            reg.public_base_url,
            star=r["star"],
            certificate_number=r["certificate_number"],
            certificate_valid_until=r["certificate_until"],
            certificate_status=certs.CertificateStatus(r["certificate_status"]),
        )
        for r in rows
    ]
    return ProductPage(items=items, total=total, next_cursor=next_cursor)
