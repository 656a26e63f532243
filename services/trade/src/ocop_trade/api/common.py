"""What every trade router shares: the context and use cases as dependencies, who may call,
one audited transaction a command, and the shapes of units, dates and pages."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi import Query as Q
from pydantic import Field

from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.auth import Principal, Role, require
from ocop_runtime.refusals import NotFound
from ocop_trade import domain
from ocop_trade.usecases import Trade

Ctx = Annotated[ServiceContext, Depends(get_context)]
# The city office and the trade officers (Department of Industry and Trade) do trade's work.
Officer = Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.TRADE_OFFICER))]

UNIT = r"^[0-9]{3}$|^[0-9]{5}$"
"""A commune/ward code (5 digits) or a pre-2025 district code (3 digits), as in registry."""
COMMUNE_OR_DISTRICT = "Commune/ward (5 digits) or pre-2025 district (3 digits)"

Limit = Annotated[int, Q(ge=1, le=500)]
Cursor = Annotated[
    str | None,
    Q(max_length=2000, description="``next_cursor`` of the previous page of this list and sort."),
]
Unit = Annotated[str | None, Q(pattern=UNIT, description=COMMUNE_OR_DISTRICT)]


def get_trade(request: Request) -> Trade:
    trade: Trade = request.app.state.trade
    return trade


T = Annotated[Trade, Depends(get_trade)]


def use_case(
    ctx: ServiceContext, name: str, who: Principal, aggregate_id: object = None
) -> contextlib.AbstractAsyncContextManager[tuple[asyncpg.Connection, audit.Outcome]]:
    """One audited transaction; refusals become 4xx with field and reason."""
    return audit.audited(ctx.pool, name, who, aggregate_id)


def refused(problems: Sequence[domain.Problem]) -> HTTPException:
    """A recorded refusal (e.g. of a participation) as a 422 naming every field and reason."""
    return HTTPException(
        422,
        detail=[
            {"loc": ["body", p.field], "msg": p.reason, "type": "rule_violation"} for p in problems
        ],
    )


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A day in a request body: the programme's years, with room."""
QueryDay = Annotated[date | None, Q(ge=FIRST_DAY, le=LAST_DAY)]
Text = Annotated[str, Field(min_length=1, max_length=300)]


def not_found(field: str, reason: str) -> HTTPException:
    """404 for a path parameter naming nothing here."""
    return audit.http_problem(NotFound(field, reason), "path")
