"""What every store module shares."""

from __future__ import annotations

import json
from typing import Any, TypeAlias

import asyncpg

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


def lock(for_update: bool) -> str:
    """The locking clause of a SELECT that the caller means to change."""
    return " FOR UPDATE" if for_update else ""


def loads(value: Any) -> Any:
    """A jsonb column as Python (asyncpg hands jsonb over as text)."""
    return json.loads(value) if isinstance(value, str) else value
