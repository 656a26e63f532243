"""Evaluation HTTP API (so far: the local copy of producers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel

from ocop_evaluation import store
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.auth import Role, require

router = APIRouter(
    prefix="/producers",
    tags=["producers"],
    dependencies=[Depends(require(Role.CITY_OFFICE, Role.COUNCIL_MEMBER))],
)
Ctx = Annotated[ServiceContext, Depends(get_context)]


class ProducerCopy(BaseModel):
    producer_id: UUID
    legal_form: str
    name: str | None
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime


@router.get("/{producer_id}", response_model=ProducerCopy)
async def get_producer(producer_id: UUID, ctx: Ctx) -> ProducerCopy:
    row = await store.get_producer(ctx.pool, producer_id)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"producer {producer_id} is not known to evaluation (yet)"
        )
    return ProducerCopy(**row)
