"""What every evaluation router shares: who may call, the use cases, and one audited
transaction per changing request."""

from __future__ import annotations

import contextlib
from typing import Annotated, Literal

import asyncpg
from fastapi import Depends, Request
from fastapi import Query as Q

from ocop_evaluation.usecases import Evaluation
from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.auth import Principal, Role, require

Ctx = Annotated[ServiceContext, Depends(get_context)]
Office = Annotated[Principal, Depends(require(Role.CITY_OFFICE))]
Council = Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.COUNCIL_MEMBER))]
Member = Annotated[Principal, Depends(require(Role.COUNCIL_MEMBER))]

LevelName = Literal["commune", "district", "city", "central"]
Cursor = Annotated[
    str | None, Q(description="``next_cursor`` of the previous page of this list and sort.")
]


def evaluation_of(request: Request) -> Evaluation:
    """The service's use cases, for a route that takes the request instead of ``Ev``."""
    evaluation: Evaluation = request.app.state.evaluation
    return evaluation


async def get_evaluation(request: Request) -> Evaluation:
    return evaluation_of(request)


Ev = Annotated[Evaluation, Depends(get_evaluation)]


def use_case(
    ctx: ServiceContext, name: str, who: Principal, aggregate_id: object = None
) -> contextlib.AbstractAsyncContextManager[tuple[asyncpg.Connection, audit.Outcome]]:
    return audit.audited(ctx.pool, name, who, aggregate_id)
