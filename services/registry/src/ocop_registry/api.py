"""Registry HTTP API: producers (create, read, update, list)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ocop_registry import domain, store, usecases
from ocop_runtime.app import ServiceContext, get_context

router = APIRouter(prefix="/producers", tags=["producers"])
Ctx = Annotated[ServiceContext, Depends(get_context)]


class ProducerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300, examples=["HTX Nông nghiệp Đại Thắng"])
    legal_form: domain.LegalForm
    commune_code: str = Field(pattern=r"^[0-9]{5}$", examples=["00004"])


class ProducerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    commune_code: str | None = Field(default=None, pattern=r"^[0-9]{5}$")


class ProducerOut(BaseModel):
    id: UUID
    name: str
    legal_form: domain.LegalForm
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: domain.Producer) -> ProducerOut:
        return cls(
            id=p.id,
            name=p.name,
            legal_form=p.legal_form,
            commune_code=p.commune_code,
            version=p.version,
            registered_at=p.registered_at,
            updated_at=p.updated_at,
        )


class ProducerPage(BaseModel):
    items: list[ProducerOut]
    total: int
    next_cursor: str | None


def _unprocessable(exc: domain.RuleViolation) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", exc.field], "msg": exc.reason, "type": "rule_violation"}],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProducerOut)
async def register_producer(body: ProducerIn, ctx: Ctx, response: Response) -> ProducerOut:
    try:
        producer = await usecases.register_producer(
            ctx.pool, domain.RegisterProducer(body.name, body.legal_form, body.commune_code)
        )
    except domain.RuleViolation as exc:
        raise _unprocessable(exc) from exc
    response.headers["Location"] = f"/producers/{producer.id}"
    return ProducerOut.of(producer)


@router.get("/{producer_id}", response_model=ProducerOut)
async def get_producer(producer_id: UUID, ctx: Ctx) -> ProducerOut:
    producer = await store.get_producer(ctx.pool, producer_id)
    if producer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"producer {producer_id} is not registered")
    return ProducerOut.of(producer)


@router.patch("/{producer_id}", response_model=ProducerOut)
async def update_producer(producer_id: UUID, body: ProducerPatch, ctx: Ctx) -> ProducerOut:
    try:
        producer = await usecases.update_producer(
            ctx.pool, producer_id, domain.UpdateProducer(body.name, body.commune_code)
        )
    except usecases.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except domain.RuleViolation as exc:
        raise _unprocessable(exc) from exc
    return ProducerOut.of(producer)


def _encode_cursor(p: domain.Producer) -> str:
    return base64.urlsafe_b64encode(f"{p.registered_at.isoformat()}|{p.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, pid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), UUID(pid)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "cursor is not one this API returned"
        ) from exc


@router.get("", response_model=ProducerPage)
async def list_producers(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    legal_form: domain.LegalForm | None = None,
    commune_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
) -> ProducerPage:
    after = _decode_cursor(cursor) if cursor else None
    items, total = await store.list_producers(
        ctx.pool, limit=limit, after=after, legal_form=legal_form, commune_code=commune_code
    )
    next_cursor = _encode_cursor(items[-1]) if len(items) == limit else None
    return ProducerPage(
        items=[ProducerOut.of(p) for p in items], total=total, next_cursor=next_cursor
    )


units_router = APIRouter(prefix="/units", tags=["administrative units"])


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


@units_router.get("", response_model=UnitPage)
async def list_units(
    ctx: Ctx,
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
        ctx.pool, on=on or datetime.now(UTC).date(), level=level, limit=limit, after=cursor
    )
    items = [UnitOut(**dict(r)) for r in rows]
    return UnitPage(items=items, next_cursor=items[-1].code if len(items) == limit else None)
