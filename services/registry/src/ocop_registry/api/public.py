"""The public lookup behind a label's QR code, and the QR code itself; no token needed."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated

import segno
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from ocop_registry import domain, store
from ocop_registry.api.common import Ctx, Reg, registry_of
from ocop_registry.domain import certificates as certs
from ocop_registry.publishing import lookup_url
from ocop_runtime.app import context_of

public_router = APIRouter(prefix="/public", tags=["public lookup"])


class PublicProducer(BaseModel):
    legal_form: domain.LegalForm
    name: str | None = Field(description="Omitted for household businesses (a person's name).")


class PublicProduct(BaseModel):
    public_code: str
    name: str
    product_set: str
    sector: str
    classification: str
    commune_code: str
    commune_name: str | None
    district_code: str | None
    producer: PublicProducer
    star: int | None
    certificate_number: str | None
    valid_until: date | None
    status: certs.CertificateStatus
    as_of: date
    deregistered: bool


@public_router.get("/products/{code}", response_model=PublicProduct)
async def lookup_product(
    code: Annotated[str, PathParam(max_length=40)],
    request: Request,
    as_of: Annotated[
        date | None, Query(description="The state on this day (default today)")
    ] = None,
) -> PublicProduct:
    """What the QR code on the label opens: the product, its producer and its certificate's
    status (valid, expiring, expired, revoked) today or on ``as_of``."""
    # The service's pool and clock straight from the request: the most frequent request of the
    # registry (every scan of a label) resolves no dependencies of its own.
    view = await store.public_view(context_of(request).pool, code)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no OCOP product has the code {code!r}")
    product = view.product
    day = as_of or registry_of(request).clock().date()
    current = certs.certificate_on(view.certificates, day)
    household = view.producer_legal_form is domain.LegalForm.HOUSEHOLD_BUSINESS
    return PublicProduct(
        public_code=product.public_code,
        name=product.name,
        product_set=product.product_set,
        sector=product.sector,
        classification=product.classification,
        commune_code=product.commune_code,
        commune_name=view.commune_name,
        district_code=product.district_code,
        producer=PublicProducer(
            legal_form=view.producer_legal_form,
            name=None if household else view.producer_name,
        ),
        star=current.star if current else None,
        certificate_number=current.number if current else None,
        valid_until=current.valid_until if current else None,
        status=current.status_on(day) if current else certs.CertificateStatus.NOT_CERTIFIED,
        as_of=day,
        deregistered=product.deregistered_at is not None and product.deregistered_at.date() <= day,
    )


@public_router.get(
    "/products/{code}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "QR code of the lookup URL"}},
)
async def product_qr(
    code: Annotated[str, PathParam(max_length=40)],
    ctx: Ctx,
    reg: Reg,
    scale: Annotated[int, Query(ge=1, le=40)] = 4,
) -> Response:
    """The QR code to print on the label: it opens this product's public lookup."""
    product = await store.product_by_code(ctx.pool, code)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no OCOP product has the code {code!r}")
    buffer = io.BytesIO()
    segno.make(lookup_url(reg.public_base_url, product), error="m").save(
        buffer, kind="svg", scale=scale, title=product.public_code
    )
    return Response(
        buffer.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
