"""PostgreSQL access: one asyncpg pool per service, pinned to the service's schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from opentelemetry import trace

_tracer = trace.get_tracer("ocop.db")


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` by default (``search_path``)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"ocop-{schema}"},
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def transaction(pool: asyncpg.Pool, name: str) -> AsyncIterator[asyncpg.Connection]:
    """One use case, one transaction, traced as ``db <name>``."""
    with _tracer.start_as_current_span(
        f"db {name}", kind=trace.SpanKind.CLIENT, attributes={"db.system": "postgresql"}
    ):
        async with pool.acquire() as conn, conn.transaction():
            yield conn
