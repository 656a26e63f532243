"""The audit trail: one append-only row per command a service carried out or refused."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from opentelemetry import trace
from pydantic import BaseModel

from ocop_runtime.auth import Principal, Role, require
from ocop_runtime.db import transaction, use_case_span
from ocop_runtime.refusals import Conflict, Refusal

Channel = Literal["http", "kafka"]


@dataclass(frozen=True)
class Actor:
    """Who sent a command and from where."""

    subject: str
    roles: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    origin: str | None = None
    channel: Channel = "http"

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(
            principal.subject,
            tuple(principal.role_names),
            tuple(sorted(principal.units)),
            principal.client,
            "http",
        )

    @classmethod
    def kafka(cls, principal: Principal, source: str | None = None) -> Actor:
        """The verified sender of a Kafka command; ``source`` (its ``ce_source``, which the
        sender sets freely) only says where it claims to come from."""
        return cls(
            principal.subject,
            tuple(principal.role_names),
            tuple(sorted(principal.units)),
            source,
            "kafka",
        )


def _trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    actor: Actor,
    command: str,
    *,
    aggregate_id: Any = None,
    outcome: str = "accepted",
    detail: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (subject, roles, units, command, aggregate_id, origin, channel,"
        " trace_id, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        actor.subject,
        list(actor.roles),
        list(actor.units),
        command,
        str(aggregate_id) if aggregate_id is not None else None,
        actor.origin,
        actor.channel,
        _trace_id(),
        outcome,
        detail,
    )


class AuditEntry(BaseModel):
    id: int
    at: datetime
    subject: str
    roles: list[str]
    units: list[str]
    command: str
    aggregate_id: str | None
    origin: str | None
    channel: str
    trace_id: str | None
    outcome: str
    detail: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: int | None


def audit_router() -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get("/audit", response_model=AuditPage)
    async def list_audit(
        request: Request,
        _: Annotated[Principal, Depends(require(Role.CITY_OFFICE))],
        aggregate_id: Annotated[str | None, Query(max_length=100)] = None,
        subject: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    ) -> AuditPage:
        """The audit trail, newest first, per aggregate and/or per person (city office)."""
        pool: asyncpg.Pool = request.app.state.ctx.pool
        rows = await pool.fetch(
            "SELECT * FROM audit_log WHERE ($1::text IS NULL OR aggregate_id = $1)"
            " AND ($2::text IS NULL OR subject = $2) AND ($3::bigint IS NULL OR id < $3)"
            f" ORDER BY id DESC LIMIT {int(limit)}",
            aggregate_id,
            subject,
            cursor,
        )
        items = [AuditEntry(**dict(r)) for r in rows]
        return AuditPage(items=items, next_cursor=items[-1].id if len(items) == limit else None)

    return router


@dataclass
class Outcome:
    """What the audit row says about a command: set by the route inside ``audited``."""

    aggregate_id: object = None
    result: str = "accepted"


def refusal_of(exc: Exception) -> Refusal | None:
    """``exc`` as a refusal to answer over HTTP, or None when it is not the caller's mistake."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, asyncpg.UniqueViolationError):
        # Two requests raced for the same key; the loser learns it like a duplicate.
        return Conflict("id", "changed by a concurrent request; try again")
    return None


@contextlib.asynccontextmanager
async def audited(
    pool: asyncpg.Pool,
    name: str,
    who: Principal,
    aggregate_id: object = None,
) -> AsyncIterator[tuple[asyncpg.Connection, Outcome]]:
    """One use case in one transaction with its audit row. A refusal (see
    :mod:`ocop_runtime.refusals`) is a user's mistake: it is audited (in its own transaction, as
    nothing else is kept) and answered with its 4xx, the field and the reason."""
    outcome = Outcome(aggregate_id)
    actor = Actor.of(who)
    try:
        async with transaction(pool, name) as conn:
            yield conn, outcome
            await record(
                conn, actor, name, aggregate_id=outcome.aggregate_id, outcome=outcome.result
            )
    except HTTPException:
        raise
    except Exception as exc:
        refused = refusal_of(exc)
        if refused is None:
            raise
        await record(
            pool,
            actor,
            name,
            aggregate_id=outcome.aggregate_id,
            outcome="refused",
            detail=f"{refused.field}: {refused.reason}",
        )
        raise http_problem(refused) from exc


# The audit row's columns, in the order of :func:`audit_values`: for a use case that writes its
# audit row in the same statement as its effect (see :func:`audited_statement`).
AUDIT_COLUMNS = (
    "subject, roles, units, command, aggregate_id, origin, channel, trace_id, outcome, detail"
)


def audit_values(
    actor: Actor,
    command: str,
    *,
    aggregate_id: Any = None,
    outcome: str = "accepted",
    detail: str | None = None,
) -> tuple[Any, ...]:
    """The values of one audit row (the columns of :data:`AUDIT_COLUMNS`), as :func:`record`
    writes them."""
    return (
        actor.subject,
        list(actor.roles),
        list(actor.units),
        command,
        str(aggregate_id) if aggregate_id is not None else None,
        actor.origin,
        actor.channel,
        _trace_id(),
        outcome,
        detail,
    )


@contextlib.asynccontextmanager
async def audited_statement(
    pool: asyncpg.Pool,
    name: str,
    who: Principal,
    aggregate_id: object = None,
) -> AsyncIterator[tuple[asyncpg.Connection, tuple[Any, ...]]]:
    """A use case whose writes fit one statement: it reads on the connection given (no
    transaction is open), then writes its effect and its audit row (the values given, the
    columns of :data:`AUDIT_COLUMNS`) in one statement, which is atomic by itself and must
    re-check in SQL what its reads decided on. Two round trips instead of the four more that
    ``BEGIN``, a separate audit ``INSERT`` and ``COMMIT`` cost. Refusals are audited and
    answered as in :func:`audited`."""
    actor = Actor.of(who)
    try:
        with use_case_span(name):
            async with pool.acquire() as conn:
                yield conn, audit_values(actor, name, aggregate_id=aggregate_id)
    except HTTPException:
        raise
    except Exception as exc:
        refused = refusal_of(exc)
        if refused is None:
            raise
        await record(
            pool,
            actor,
            name,
            aggregate_id=aggregate_id,
            outcome="refused",
            detail=f"{refused.field}: {refused.reason}",
        )
        raise http_problem(refused) from exc


def http_problem(refused: Refusal, where: str = "body") -> HTTPException:
    """The HTTP answer to a refusal: its status, and the field and reason in FastAPI's shape."""
    return HTTPException(
        refused.status,
        detail=[{"loc": [where, refused.field], "msg": refused.reason, "type": "rule_violation"}],
    )
