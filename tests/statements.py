"""What a service's pooled connections send to PostgreSQL while a test does something."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg


@contextlib.contextmanager
def statements_sent(pool: asyncpg.Pool) -> Iterator[dict[int, list[str]]]:
    """Every statement each connection of ``pool`` ran inside the block, by connection (the
    request's and the background tasks' alike)."""
    sent: dict[int, list[str]] = {}
    connections = [h._con for h in pool._holders if h._con is not None]
    loggers = []
    for i, conn in enumerate(connections):

        def log(query: Any, i: int = i) -> None:
            sent.setdefault(i, []).append(query.query.strip().rstrip(";"))

        conn.add_query_logger(log)
        loggers.append((conn, log))
    try:
        yield sent
    finally:
        for conn, log in loggers:
            conn.remove_query_logger(log)
