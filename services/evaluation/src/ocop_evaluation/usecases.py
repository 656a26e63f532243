"""Evaluation use cases. Consumer-driven ones run inside the consumer's transaction (with the
inbox row), so they take the connection rather than the pool."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from ocop_evaluation import store


async def record_producer(
    conn: asyncpg.Connection,
    *,
    producer_id: UUID,
    legal_form: str,
    name: str | None,
    commune_code: str,
    version: int,
    at: datetime,
) -> None:
    """Keep the local copy of a registry producer current."""
    await store.upsert_producer(
        conn,
        producer_id=producer_id,
        legal_form=legal_form,
        name=name,
        commune_code=commune_code,
        version=version,
        at=at,
    )
