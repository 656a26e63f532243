"""What every registry router shares: the service context and use cases as dependencies, who
may call (role aliases), the caller's scope, one audited transaction a command, and the unit
code patterns and page size of list routes."""

from __future__ import annotations

import contextlib
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ocop_registry.usecases import Registry
from ocop_registry.usecases import scope_of as scope_of
from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.auth import EVERY_ROLE, Principal, Role, require

Ctx = Annotated[ServiceContext, Depends(get_context)]
COMMUNE = r"^[0-9]{5}$"
DISTRICT = r"^[0-9]{3}$"


def registry_of(request: Request) -> Registry:
    """The service's use cases, for a route that takes the request instead of ``Reg``."""
    registry: Registry = request.app.state.registry
    return registry


async def get_registry(request: Request) -> Registry:
    return registry_of(request)


Reg = Annotated[Registry, Depends(get_registry)]


def problem(code: int, field: str, reason: str, where: str = "body") -> HTTPException:
    return HTTPException(
        code, detail=[{"loc": [where, field], "msg": reason, "type": "rule_violation"}]
    )


def use_case(
    ctx: ServiceContext, name: str, who: Principal, aggregate_id: object = None
) -> contextlib.AbstractAsyncContextManager[tuple[asyncpg.Connection, audit.Outcome]]:
    """One audited transaction; refusals become 4xx with field and reason."""
    return audit.audited(ctx.pool, name, who, aggregate_id)


Office = Annotated[Principal, Depends(require(Role.CITY_OFFICE))]
Local = Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER))]
Commune = Annotated[Principal, Depends(require(Role.COMMUNE_OFFICER))]
Owners = Annotated[
    Principal, Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER, Role.PRODUCER))
]
Readers = Annotated[
    Principal,
    Depends(require(Role.CITY_OFFICE, Role.COMMUNE_OFFICER, Role.PRODUCER, Role.AGENCY)),
]
Anyone = Annotated[Principal, Depends(require(*EVERY_ROLE))]

Limit = Annotated[int, Query(ge=1, le=500)]


class Deregistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
