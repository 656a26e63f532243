"""Evaluation's copy of registry's producers, as it was last told."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from ocop_evaluation import store
from ocop_evaluation.api.common import Council, Ctx

router = APIRouter(prefix="/producers", tags=["producers"])


class ProducerCopy(BaseModel):
    producer_id: UUID
    legal_form: str
    name: str | None
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime


@router.get("/{producer_id}", response_model=ProducerCopy)
async def get_producer(producer_id: UUID, ctx: Ctx, who: Council) -> ProducerCopy:
    copy = await store.get_producer(ctx.pool, producer_id)
    if copy is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"producer {producer_id} is not known to evaluation (yet)"
        )
    return ProducerCopy(**asdict(copy))
