"""Producers: registration, reading (with contact persons), changes, deregistration, the
filtered list, and a person's access and erasure requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ocop_registry import domain, store
from ocop_registry.api.common import (
    COMMUNE,
    DISTRICT,
    Ctx,
    Deregistration,
    Limit,
    Local,
    Office,
    Owners,
    Reg,
    scope_of,
    use_case,
)
from ocop_runtime import audit
from ocop_runtime.audit import Actor
from ocop_runtime.auth import Principal, Role, require
from ocop_runtime.paging import ListPage, page_of

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


class ProducerPage(ListPage[ProducerOut]):
    """Producers matching the filters, a page at a time."""


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
    filters = store.ProducerFilter(legal_form, commune, district, include_deregistered)
    items, total, next_cursor = await page_of(
        store.PRODUCER_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_producers(ctx.pool, filters, k, scope=scope_of(who)),
    )
    return ProducerPage(
        items=[ProducerOut.of(p) for p in items], total=total, next_cursor=next_cursor
    )
