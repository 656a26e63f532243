"""Trade's copy of a product: what the registry and evaluation said of it, and whether it may
be listed or brought to an OCOP-only event today."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ocop_trade import domain, store
from ocop_trade.api.common import Ctx, Day, Officer, T, not_found

products_router = APIRouter(tags=["products"])


class CertificateOut(BaseModel):
    certificate_id: UUID
    star: int
    valid_from: Day
    valid_until: Day
    state: str = Field(description="live, expired, revoked, replaced or ended")
    ended_on: Day | None
    end_reason: str | None


class ProductOut(BaseModel):
    product_id: UUID
    producer_id: UUID | None
    name: str | None
    public_code: str | None
    deregistered: bool
    live_certificate: CertificateOut | None = Field(description="The one a listing stands on.")
    why_not_live: str | None = Field(description="When none is live: the end of the last one.")
    certificates: list[CertificateOut]


def _out(c: domain.CertificateCopy) -> CertificateOut:
    return CertificateOut(
        certificate_id=c.certificate_id,
        star=c.star,
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        state=c.state.value,
        ended_on=c.ended_on,
        end_reason=c.end_reason,
    )


@products_router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(product_id: UUID, ctx: Ctx, who: Officer, t: T) -> ProductOut:
    """A product as trade knows it from the registry's and evaluation's events."""
    copy = await store.get_product(ctx.pool, product_id)
    certificates = (await store.certificates_of(ctx.pool, [product_id]))[product_id]
    if copy is None and not certificates:
        raise not_found("product_id", f"trade has heard of no product {product_id}")
    live = domain.live_certificate(certificates)
    return ProductOut(
        product_id=product_id,
        producer_id=copy.producer_id if copy else None,
        name=copy.name if copy else None,
        public_code=copy.public_code if copy else None,
        deregistered=bool(copy and copy.deregistered_at),
        live_certificate=_out(live) if live else None,
        why_not_live=None if live else domain.why_not_live(certificates),
        certificates=[_out(c) for c in certificates],
    )
