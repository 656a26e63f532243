"""Registry HTTP API: producers, products, applications, administrative units and the
public product lookup. Every route calls a use case in one transaction or a store read."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import segno
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from ocop_registry import domain, store
from ocop_registry.domain import applications as apps
from ocop_registry.domain import certificates as certs
from ocop_registry.domain import classification, products
from ocop_registry.domain.dossier import (
    ApplicationKind,
    DocumentType,
    EvidenceFile,
    missing_documents,
)
from ocop_registry.publishing import lookup_url
from ocop_registry.usecases import Registry
from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.audit import Actor
from ocop_runtime.auth import EVERY_ROLE, Principal, Role, require
from ocop_runtime.refusals import Conflict

Ctx = Annotated[ServiceContext, Depends(get_context)]
COMMUNE = r"^[0-9]{5}$"
DISTRICT = r"^[0-9]{3}$"


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


Reg = Annotated[Registry, Depends(get_registry)]


def _problem(code: int, field: str, reason: str, where: str = "body") -> HTTPException:
    return HTTPException(
        code, detail=[{"loc": [where, field], "msg": reason, "type": "rule_violation"}]
    )


def use_case(
    ctx: ServiceContext, name: str, who: Principal, aggregate_id: object = None
) -> contextlib.AbstractAsyncContextManager[tuple[asyncpg.Connection, audit.Outcome]]:
    """One audited transaction; refusals become 4xx with field and reason."""
    return audit.audited(ctx.pool, name, who, aggregate_id)


NO_ONE = UUID(int=0)


def scope_of(who: Principal) -> store.Scope:
    """What a caller may see: everything for the city office and agencies (their routes are
    read-only), their units for a commune officer, their own records for a producer."""
    if who.has(Role.CITY_OFFICE, Role.AGENCY):
        return store.EVERYTHING
    if who.has(Role.COMMUNE_OFFICER):
        return store.Scope(units=who.units)
    if who.has(Role.PRODUCER):
        return store.Scope(producer_id=who.producer_id or NO_ONE)
    return store.Scope(units=frozenset())


Office = Annotated[Principal, Depends(require(Role.CITY_OFFICE))]
Local = Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER))]
Owners = Annotated[
    Principal, Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER, Role.PRODUCER))
]
Readers = Annotated[
    Principal,
    Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER, Role.PRODUCER, Role.AGENCY)),
]
Anyone = Annotated[Principal, Depends(require(*EVERY_ROLE))]


# ---------------------------------------------------------------- paging


class Cursor:
    """Opaque keyset cursors, bound to the sort they came from."""

    @staticmethod
    def encode(sort: str, value: tuple[str, UUID]) -> str:
        raw = json.dumps([sort, value[0], str(value[1])])
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @staticmethod
    def decode(cursor: str | None, sort: str) -> tuple[str, UUID] | None:
        if not cursor:
            return None
        try:
            made_for, value, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            position = str(value), UUID(ident)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise _problem(400, "cursor", "is not one this API returned", "query") from exc
        if made_for != sort:
            raise _problem(
                400, "cursor", f"was returned for sort={made_for}, not sort={sort}", "query"
            )
        return position


def _next(page: store.Page, limit: int, sort: str) -> str | None:
    if len(page.rows) == limit and page.cursors:
        return Cursor.encode(sort, page.cursors[-1])
    return None


def _sort(sorts: dict[str, store.Sort], value: str) -> store.Sort:
    try:
        return sorts[value]
    except KeyError:
        raise _problem(
            422, "sort", f"{value!r} is not one of {', '.join(sorts)}", "query"
        ) from None


Limit = Annotated[int, Query(ge=1, le=500)]


# ---------------------------------------------------------------- producers

producers_router = APIRouter(prefix="/producers", tags=["producers"])


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="representative", min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=200)
    national_id: str | None = Field(default=None, max_length=20)
    home_address: str | None = Field(default=None, max_length=500)

    def to_domain(self) -> domain.Person:
        return domain.Person(**self.model_dump())


class ProducerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(
        default=None,
        description="Client-chosen id: repeating the same request has no second effect.",
    )
    name: str = Field(min_length=1, max_length=300, examples=["HTX Nông nghiệp Đại Thắng"])
    legal_form: domain.LegalForm
    registration_number: str | None = Field(default=None, max_length=20, examples=["0101234567"])
    commune_code: str = Field(pattern=COMMUNE, examples=["00004"])
    address: str | None = Field(default=None, max_length=500)
    contacts: list[PersonIn] = Field(default_factory=list, max_length=10)


class ProducerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    commune_code: str | None = Field(default=None, pattern=COMMUNE)
    address: str | None = Field(default=None, max_length=500)
    contacts: list[PersonIn] | None = Field(default=None, max_length=10)


class Deregistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ProducerOut(BaseModel):
    id: UUID
    name: str
    legal_form: domain.LegalForm
    registration_number: str | None
    commune_code: str
    district_code: str | None
    address: str | None
    version: int
    registered_at: datetime
    updated_at: datetime
    deregistered_at: datetime | None
    deregistration_reason: str | None
    contacts: list[PersonIn] | None = Field(
        default=None, description="Only when reading one producer; never in lists or events."
    )

    @classmethod
    def of(cls, p: domain.Producer, *, contacts: bool = False) -> ProducerOut:
        return cls(
            id=p.id,
            name=p.name,
            legal_form=p.legal_form,
            registration_number=p.registration_number,
            commune_code=p.commune_code,
            district_code=p.district_code,
            address=p.address,
            version=p.version,
            registered_at=p.registered_at,
            updated_at=p.updated_at,
            deregistered_at=p.deregistered_at,
            deregistration_reason=p.deregistration_reason,
            contacts=[
                PersonIn(
                    full_name=c.full_name,
                    role=c.role,
                    phone=c.phone,
                    email=c.email,
                    national_id=c.national_id,
                    home_address=c.home_address,
                )
                for c in p.contacts
            ]
            if contacts
            else None,
        )


class ProducerPage(BaseModel):
    items: list[ProducerOut]
    total: int
    next_cursor: str | None


@producers_router.post("", status_code=status.HTTP_201_CREATED, response_model=ProducerOut)
async def register_producer(
    body: ProducerIn, ctx: Ctx, who: Local, reg: Reg, response: Response
) -> ProducerOut:
    """Register a producer. With a client-chosen ``id`` (or the same registration number and
    details), a repeated request answers 200 with the producer instead of creating another."""
    async with use_case(ctx, "register_producer", who) as (conn, outcome):
        producer, created = await reg.register_producer(
            conn,
            domain.RegisterProducer(
                name=body.name,
                legal_form=body.legal_form,
                commune_code=body.commune_code,
                registration_number=body.registration_number,
                address=body.address,
                contacts=tuple(c.to_domain() for c in body.contacts),
            ),
            body.id,
            scope_of(who),
        )
        outcome.aggregate_id, outcome.result = producer.id, "created" if created else "repeat"
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/producers/{producer.id}"
    return ProducerOut.of(producer, contacts=True)


@producers_router.get("/{producer_id}", response_model=ProducerOut)
async def get_producer(producer_id: UUID, ctx: Ctx, who: Owners) -> ProducerOut:
    producer = await store.get_producer(ctx.pool, producer_id, scope=scope_of(who))
    if producer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"producer {producer_id} is not registered")
    return ProducerOut.of(producer, contacts=True)


@producers_router.patch("/{producer_id}", response_model=ProducerOut)
async def update_producer(
    producer_id: UUID, body: ProducerPatch, ctx: Ctx, who: Owners, reg: Reg
) -> ProducerOut:
    async with use_case(ctx, "update_producer", who, producer_id) as (conn, _):
        producer = await reg.update_producer(
            conn,
            producer_id,
            domain.UpdateProducer(
                name=body.name,
                commune_code=body.commune_code,
                address=body.address,
                contacts=None
                if body.contacts is None
                else tuple(c.to_domain() for c in body.contacts),
            ),
            scope_of(who),
        )
    return ProducerOut.of(producer, contacts=True)


@producers_router.post("/{producer_id}/deregistration", response_model=ProducerOut)
async def deregister_producer(
    producer_id: UUID, body: Deregistration, ctx: Ctx, who: Local, reg: Reg
) -> ProducerOut:
    """Take a producer off the registry; refused while it has registered products."""
    async with use_case(ctx, "deregister_producer", who, producer_id) as (conn, _):
        producer = await reg.deregister_producer(conn, producer_id, body.reason, scope_of(who))
    return ProducerOut.of(producer)


class PersonalData(BaseModel):
    """Everything the registry holds about the people behind one producer."""

    producer_id: UUID
    legal_form: domain.LegalForm
    household: bool
    name: str | None = Field(description="A household business's name (a person's name).")
    registration_number: str | None
    address: str | None
    contacts: list[PersonIn]
    erased_at: datetime | None
    published: str = Field(
        default="Events and the public lookup never carry these fields.",
        description="Where the data went beyond this service.",
    )


@producers_router.get("/{producer_id}/personal-data", response_model=PersonalData)
async def export_personal_data(
    producer_id: UUID,
    ctx: Ctx,
    who: Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.PRODUCER))],
) -> PersonalData:
    """A person's data held for this producer, for an access request (Decree 13/2023)."""
    producer = await store.get_producer(ctx.pool, producer_id, scope=scope_of(who))
    if producer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"producer {producer_id} is not registered")
    await audit.record(ctx.pool, Actor.of(who), "export_personal_data", aggregate_id=producer_id)
    out = ProducerOut.of(producer, contacts=True)
    return PersonalData(
        producer_id=producer.id,
        legal_form=producer.legal_form,
        household=producer.is_household,
        name=producer.name if producer.is_household else None,
        registration_number=producer.registration_number if producer.is_household else None,
        address=producer.address,
        contacts=out.contacts or [],
        erased_at=producer.personal_data_erased_at,
    )


@producers_router.post("/{producer_id}/erasure", response_model=ProducerOut)
async def erase_personal_data(producer_id: UUID, ctx: Ctx, who: Office, reg: Reg) -> ProducerOut:
    """Erase the personal data of the people behind a producer on request: contacts, and for
    a household business its name, registration number and address. Products, certificates
    and the event history stay (they never held those fields)."""
    async with use_case(ctx, "erase_personal_data", who, producer_id) as (conn, _):
        producer = await reg.erase_personal_data(conn, producer_id, scope_of(who))
    return ProducerOut.of(producer, contacts=True)


@producers_router.get("", response_model=ProducerPage)
async def list_producers(
    ctx: Ctx,
    who: Owners,
    limit: Limit = 50,
    cursor: str | None = None,
    legal_form: domain.LegalForm | None = None,
    commune: Annotated[
        str | None, Query(pattern=COMMUNE, description="Old or new commune/ward")
    ] = None,
    district: Annotated[
        str | None, Query(pattern=DISTRICT, description="Pre-2025 district")
    ] = None,
    include_deregistered: bool = False,
    sort: Annotated[str, Query(description=", ".join(store.PRODUCER_SORTS))] = "registered_at",
) -> ProducerPage:
    items, page = await store.list_producers(
        ctx.pool,
        store.ProducerFilter(legal_form, commune, district, include_deregistered),
        sort=_sort(store.PRODUCER_SORTS, sort),
        after=Cursor.decode(cursor, sort),
        limit=limit,
        scope=scope_of(who),
    )
    return ProducerPage(
        items=[ProducerOut.of(p) for p in items],
        total=page.total,
        next_cursor=_next(page, limit, sort),
    )


# ---------------------------------------------------------------- products

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


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    next_cursor: str | None


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
    page = await store.list_products(
        ctx.pool,
        store.ProductFilter(
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
        ),
        today=reg.clock().date(),
        sort=_sort(store.PRODUCT_SORTS, sort),
        after=Cursor.decode(cursor, sort),
        limit=limit,
        scope=scope_of(who),
    )
    items = [
        ProductOut.of(
            store.product_of(r),
            reg.public_base_url,
            star=r["star"],
            certificate_number=r["certificate_number"],
            certificate_valid_until=r["certificate_until"],
            certificate_status=certs.CertificateStatus(r["certificate_status"]),
        )
        for r in page.rows
    ]
    return ProductPage(items=items, total=page.total, next_cursor=_next(page, limit, sort))


# ---------------------------------------------------------------- public lookup

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
    ctx: Ctx,
    reg: Reg,
    as_of: Annotated[
        date | None, Query(description="The state on this day (default today)")
    ] = None,
) -> PublicProduct:
    """What the QR code on the label opens: the product, its producer and its certificate's
    status (valid, expiring, expired, revoked) today or on ``as_of``."""
    view = await store.public_view(ctx.pool, code)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no OCOP product has the code {code!r}")
    product = view.product
    day = as_of or reg.clock().date()
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


# ---------------------------------------------------------------- applications

applications_router = APIRouter(prefix="/applications", tags=["applications"])


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_type: DocumentType
    name: str = Field(min_length=1, max_length=255)
    media_type: str = Field(max_length=127, examples=["application/pdf"])
    size_bytes: int = Field(gt=0, le=2**53)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    storage_url: str = Field(max_length=2000, examples=["https://files.example.gov.vn/ocop/1.pdf"])

    def to_domain(self) -> EvidenceFile:
        return EvidenceFile(**self.model_dump())


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None
    product_id: UUID
    kind: ApplicationKind
    round_year: int | None = Field(default=None, ge=2019, le=2100)
    self_assessment_score: float | None = Field(default=None, ge=0, le=100)
    documents: list[EvidenceIn] = Field(default_factory=list, max_length=100)


class ApplicationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ApplicationKind | None = None
    round_year: int | None = Field(default=None, ge=2019, le=2100)
    self_assessment_score: float | None = Field(default=None, ge=0, le=100)
    documents: list[EvidenceIn] | None = Field(default=None, max_length=100)


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ApplicationOut(BaseModel):
    id: UUID
    product_id: UUID
    producer_id: UUID
    kind: ApplicationKind
    round_year: int
    status: apps.ApplicationStatus
    regime: str | None
    self_assessment_score: float | None
    documents: list[EvidenceIn]
    missing_documents: list[DocumentType] | None = Field(
        default=None, description="What submission would still ask for (drafts only)."
    )
    reasons: list[str]
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, a: apps.Application, missing: list[DocumentType] | None = None) -> ApplicationOut:
        return cls(
            id=a.id,
            product_id=a.product_id,
            producer_id=a.producer_id,
            kind=a.kind,
            round_year=a.round_year,
            status=a.status,
            regime=a.regime.value if a.regime else None,
            self_assessment_score=a.self_assessment_score,
            documents=[
                EvidenceIn(
                    document_type=d.document_type,
                    name=d.name,
                    media_type=d.media_type,
                    size_bytes=d.size_bytes,
                    sha256=d.sha256,
                    storage_url=d.storage_url,
                )
                for d in a.documents
            ],
            missing_documents=missing,
            reasons=list(a.reasons),
            submitted_at=a.submitted_at,
            created_at=a.created_at,
            updated_at=a.updated_at,
            version=a.version,
        )


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    total: int
    next_cursor: str | None


async def _missing(
    ctx: ServiceContext, reg: Registry, a: apps.Application
) -> list[DocumentType] | None:
    if a.status not in apps.EDITABLE:
        return None
    product = await store.get_product(ctx.pool, a.product_id)
    if product is None:
        return None
    regime = classification.regime_on(reg.clock().date())
    try:
        product_set = classification.product_set(
            classification.Scheme(product.classification), product.product_set
        )
        return list(missing_documents(a.kind, product_set, regime, a.documents))
    except domain.RuleViolation:
        return None


@applications_router.post("", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut)
async def draft_application(
    body: ApplicationIn, ctx: Ctx, who: Owners, reg: Reg, response: Response
) -> ApplicationOut:
    """Start an application (a draft); documents can be added until it is submitted."""
    async with use_case(ctx, "draft_application", who) as (conn, outcome):
        scope = scope_of(who)
        existing = None
        if body.id is not None:
            existing = await store.get_application(conn, body.id, scope=scope)
        if existing is not None:
            if existing.product_id != body.product_id:
                raise Conflict("id", f"application {body.id} belongs to another product")
            response.status_code = status.HTTP_200_OK
            app, outcome.result = existing, "repeat"
        else:
            app = await reg.draft_application(
                conn,
                apps.DraftApplication(
                    product_id=body.product_id,
                    kind=body.kind,
                    round_year=body.round_year,
                    self_assessment_score=body.self_assessment_score,
                    documents=tuple(d.to_domain() for d in body.documents),
                ),
                body.id,
                scope,
            )
        outcome.aggregate_id = app.id
    response.headers["Location"] = f"/applications/{app.id}"
    return ApplicationOut.of(app, await _missing(ctx, reg, app))


@applications_router.get("/{application_id}", response_model=ApplicationOut)
async def get_application(application_id: UUID, ctx: Ctx, who: Owners, reg: Reg) -> ApplicationOut:
    app = await store.get_application(ctx.pool, application_id, scope=scope_of(who))
    if app is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"application {application_id} does not exist"
        )
    return ApplicationOut.of(app, await _missing(ctx, reg, app))


@applications_router.patch("/{application_id}", response_model=ApplicationOut)
async def revise_application(
    application_id: UUID, body: ApplicationPatch, ctx: Ctx, who: Owners, reg: Reg
) -> ApplicationOut:
    async with use_case(ctx, "revise_application", who, application_id) as (conn, _):
        app = await reg.revise_application(
            conn,
            application_id,
            apps.ReviseApplication(
                kind=body.kind,
                round_year=body.round_year,
                self_assessment_score=body.self_assessment_score,
                documents=None
                if body.documents is None
                else tuple(d.to_domain() for d in body.documents),
            ),
            scope_of(who),
        )
    return ApplicationOut.of(app, await _missing(ctx, reg, app))


@applications_router.post("/{application_id}/submission", response_model=ApplicationOut)
async def submit_application(
    application_id: UUID, ctx: Ctx, who: Owners, reg: Reg
) -> ApplicationOut:
    """Submit: the dossier must be complete for the kind and product set under the regime in
    force today; publishes ``ApplicationSubmitted``. Submitting again answers the same."""
    async with use_case(ctx, "submit_application", who, application_id) as (conn, outcome):
        current = await store.get_application(conn, application_id, scope=scope_of(who))
        if current is not None and current.status in (
            apps.ApplicationStatus.SUBMITTED,
            apps.ApplicationStatus.ACCEPTED,
        ):
            outcome.result = "repeat"
            return ApplicationOut.of(current)
        app = await reg.submit_application(conn, application_id, scope_of(who))
    return ApplicationOut.of(app)


@applications_router.post("/{application_id}/withdrawal", response_model=ApplicationOut)
async def withdraw_application(
    application_id: UUID, body: Withdrawal, ctx: Ctx, who: Owners, reg: Reg
) -> ApplicationOut:
    async with use_case(ctx, "withdraw_application", who, application_id) as (conn, _):
        app = await reg.withdraw_application(conn, application_id, body.reason, scope_of(who))
    return ApplicationOut.of(app)


@applications_router.get("", response_model=ApplicationPage)
async def list_applications(
    ctx: Ctx,
    who: Owners,
    limit: Limit = 50,
    cursor: str | None = None,
    product_id: UUID | None = None,
    producer_id: UUID | None = None,
    status_: Annotated[apps.ApplicationStatus | None, Query(alias="status")] = None,
    kind: ApplicationKind | None = None,
    year: Annotated[int | None, Query(ge=2019, le=2100, description="Round year")] = None,
    commune: Annotated[str | None, Query(pattern=COMMUNE)] = None,
    district: Annotated[str | None, Query(pattern=DISTRICT)] = None,
    product_set: Annotated[str | None, Query(max_length=80)] = None,
    sort: Annotated[str, Query(description=", ".join(store.APPLICATION_SORTS))] = "created_at",
) -> ApplicationPage:
    items, page = await store.list_applications(
        ctx.pool,
        store.ApplicationFilter(
            product_id=product_id,
            producer_id=producer_id,
            status=status_,
            kind=kind,
            year=year,
            commune=commune,
            district=district,
            product_set=product_set,
        ),
        sort=_sort(store.APPLICATION_SORTS, sort),
        after=Cursor.decode(cursor, sort),
        limit=limit,
        scope=scope_of(who),
    )
    return ApplicationPage(
        items=[ApplicationOut.of(a) for a in items],
        total=page.total,
        next_cursor=_next(page, limit, sort),
    )


# ---------------------------------------------------------------- reference data

reference_router = APIRouter(tags=["reference data"])


class UnitOut(BaseModel):
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None


class UnitPage(BaseModel):
    items: list[UnitOut]
    next_cursor: str | None


@reference_router.get("/units", response_model=UnitPage)
async def list_units(
    ctx: Ctx,
    who: Anyone,
    reg: Reg,
    on: Annotated[
        date | None, Query(description="Units valid on this day (default: today)")
    ] = None,
    level: Annotated[str | None, Query(pattern="^(district|commune)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{3,5}$")] = None,
) -> UnitPage:
    """Hanoi's administrative units valid on a day: before 1 July 2025 the 30 districts and
    their communes, from then the 126 communes and wards."""
    rows = await store.list_units(
        ctx.pool, on=on or reg.clock().date(), level=level, limit=limit, after=cursor
    )
    items = [UnitOut(**dict(r)) for r in rows]
    return UnitPage(items=items, next_cursor=items[-1].code if len(items) == limit else None)


class ProductSetOut(BaseModel):
    code: str
    name_vi: str
    name_en: str
    sector_code: str
    group_code: str
    samples_required: bool
    statistics_sector: str


class ClassificationOut(BaseModel):
    regime: str
    scheme: str
    product_sets: list[ProductSetOut]


@reference_router.get("/classification", response_model=ClassificationOut)
async def get_classification(
    reg: Reg,
    who: Anyone,
    on: Annotated[
        date | None, Query(description="The rules in force on this day (default today)")
    ] = None,
) -> ClassificationOut:
    """The product sets a product can be registered under on a day."""
    day = on or reg.clock().date()
    try:
        regime = classification.regime_on(day)
    except domain.RuleViolation as exc:
        raise _problem(422, "on", exc.reason, "query") from exc
    scheme = classification.scheme_of(regime)
    return ClassificationOut(
        regime=regime.value,
        scheme=scheme.value,
        product_sets=[
            ProductSetOut(
                code=s.code,
                name_vi=s.name_vi,
                name_en=s.name_en,
                sector_code=s.sector_code,
                group_code=s.group_code,
                samples_required=s.samples_required,
                statistics_sector=classification.statistics_sector(s),
            )
            for s in classification.product_sets(scheme)
        ],
    )
