"""What every store module shares."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


def lock(for_update: bool) -> str:
    """The locking clause of a SELECT that the caller means to change."""
    return " FOR UPDATE" if for_update else ""
