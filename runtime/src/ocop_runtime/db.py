"""PostgreSQL access: one asyncpg pool per service, pinned to the service's schema."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
from opentelemetry import trace

from ocop_runtime.telemetry import CurrentSpan

_tracer = trace.get_tracer("ocop.db")
_DB_ATTRIBUTES = {"db.system": "postgresql"}
# Connections that took session state the pool must undo when they come back (a LISTEN, a
# session advisory lock): see :func:`keeps_session_state`.
_stateful: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()


def keeps_session_state(conn: asyncpg.Connection) -> None:
    """Mark a pooled connection that LISTENs or holds a session advisory lock: on its release
    the pool runs the full reset (``UNLISTEN *``, ``pg_advisory_unlock_all()``, ``RESET ALL``).
    Any other connection comes back with only its transaction rolled back, if one was left open,
    which saves a round trip on every release (every request, every record consumed)."""
    _stateful.add(getattr(conn, "_con", None) or conn)  # the pool's proxy or the connection


async def _reset(conn: asyncpg.Connection) -> None:
    # asyncpg has already rolled back an open transaction and dropped client-side listeners.
    if conn in _stateful:
        _stateful.discard(conn)
        query = conn.get_reset_query()
        if query:
            await conn.execute(query)


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` by default (``search_path``)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"ocop-{schema}"},
        reset=_reset,
    )
    assert pool is not None
    return pool


def insert_statement(table: str, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns) VALUES ($1, ...)``: the statement for the same column list
    a ``COPY`` (``copy_records_to_table``) of the same rows takes."""
    values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


def use_case_span(name: str) -> CurrentSpan:
    """The span of one use case's database work, ``db <name>``, current inside its block."""
    return CurrentSpan(
        _tracer.start_span(f"db {name}", kind=trace.SpanKind.CLIENT, attributes=_DB_ATTRIBUTES)
    )


@asynccontextmanager
async def transaction(pool: asyncpg.Pool, name: str) -> AsyncIterator[asyncpg.Connection]:
    """One use case, one transaction, traced as ``db <name>``."""
    with use_case_span(name):
        async with pool.acquire() as conn, conn.transaction():
            yield conn
