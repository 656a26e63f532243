"""What every inspection router shares: who may call, the use cases, one audited transaction
per changing request, and the list parameters (pages come from ``ocop_runtime.paging.page_of``)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi import Query as Q

from ocop_inspection.usecases import Inspection
from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.audit import http_problem
from ocop_runtime.auth import Principal, Role, require
from ocop_runtime.refusals import NotFound

Ctx = Annotated[ServiceContext, Depends(get_context)]
Office = Annotated[Principal, Depends(require(Role.CITY_OFFICE))]
Field_ = Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.INSPECTOR))]

Cursor = Annotated[
    str | None, Q(max_length=2000, description="``next_cursor`` of the previous page.")
]
Limit = Annotated[int, Q(ge=1, le=500)]
UNIT = r"^[0-9]{3,5}$"


def get_inspection(request: Request) -> Inspection:
    inspection: Inspection = request.app.state.inspection
    return inspection


Ins = Annotated[Inspection, Depends(get_inspection)]


def not_found(field: str, reason: str) -> HTTPException:
    """A 404 for a read, in the shape of every refusal."""
    return http_problem(NotFound(field, reason), "path")


def use_case(
    ctx: ServiceContext, name: str, who: Principal, aggregate_id: object = None
) -> contextlib.AbstractAsyncContextManager[tuple[asyncpg.Connection, audit.Outcome]]:
    return audit.audited(ctx.pool, name, who, aggregate_id)


def sort_param(sorts: Mapping[str, Any]) -> Any:
    return Q(max_length=40, description="One of: " + ", ".join(sorts))
