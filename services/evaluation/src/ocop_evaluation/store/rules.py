"""Entries as the corrected rules move them: a decision's note on each entry, dossiers moved
to the city when the district tier ended, and an entry at one level of an application."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from ocop_evaluation import domain
from ocop_evaluation.store.common import Conn
from ocop_evaluation.store.rounds import _entry


async def add_entry_results(
    conn: asyncpg.Connection, notes: Sequence[tuple[UUID, domain.Level, dict[str, Any]]]
) -> None:
    """Merge each note into its entry's result (the decision's verdict, say)."""
    await conn.executemany(
        "UPDATE entries SET result = coalesce(result, '{}'::jsonb) || $3::jsonb"
        " WHERE application_id = $1 AND level = $2",
        [(a, level.value, json.dumps(note)) for a, level, note in notes],
    )


async def entry_at(conn: Conn, application_id: UUID, level: domain.Level) -> domain.Entry | None:
    row = await conn.fetchrow(
        "SELECT * FROM entries WHERE application_id = $1 AND level = $2",
        application_id,
        level.value,
    )
    return _entry(row) if row else None


async def waiting_entries(
    conn: asyncpg.Connection, level: domain.Level, *, lock: bool = True
) -> list[domain.Entry]:
    """Entries at ``level`` waiting for a round, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM entries WHERE level = $1 AND status = $2 AND round_id IS NULL"
        " ORDER BY created_at, application_id" + (" FOR UPDATE" if lock else ""),
        level.value,
        domain.EntryStatus.WAITING.value,
    )
    return [_entry(r) for r in rows]


async def move_entry(
    conn: asyncpg.Connection,
    entry: domain.Entry,
    status: domain.EntryStatus,
    note: dict[str, Any],
) -> None:
    """Leave ``entry`` at its level with ``status`` and ``note`` (a rerouted or pre-assessed
    dossier keeps its trace at the level it left)."""
    await conn.execute(
        "UPDATE entries SET status = $3, result = coalesce(result, '{}'::jsonb) || $4::jsonb"
        " WHERE application_id = $1 AND level = $2",
        entry.application_id,
        entry.level.value,
        status.value,
        json.dumps(note),
    )


async def forwarded_applications(
    conn: Conn, application_ids: Sequence[UUID], level: domain.Level
) -> set[UUID]:
    """Of ``application_ids``, those a lower level scored and forwarded to ``level``."""
    rows = await conn.fetch(
        "SELECT application_id FROM entries WHERE application_id = ANY($1::uuid[])"
        " AND level <> $2 AND status = $3 AND result ->> 'to_level' = $2",
        list(application_ids),
        level.value,
        domain.EntryStatus.FORWARDED.value,
    )
    return {r["application_id"] for r in rows}


async def lock_intake(conn: asyncpg.Connection, year: int, level: domain.Level) -> None:
    """Serialise placing entries of ``year`` and ``level`` with opening a round for them, until
    the transaction ends: without it, an entry inserted as waiting while a round opens (and
    attaches the waiting ones) would miss that round and wait forever."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('ocop.evaluation.intake'), hashtext($1))",
        f"{year}:{level.value}",
    )


async def reopen_returned(conn: asyncpg.Connection, e: domain.Entry) -> bool:
    """A dossier returned to its producer and submitted again takes its place anew at the same
    level (``e`` placed by ``Entry.in_round``); whether there was such a returned entry."""
    status = await conn.execute(
        "UPDATE entries SET status = $3, round_id = $4, result = NULL, submitted_on = $5,"
        " kind = $6, created_at = $7"
        " WHERE application_id = $1 AND level = $2 AND status = $8",
        e.application_id,
        e.level.value,
        e.status.value,
        e.round_id,
        e.submitted_on,
        e.kind.value,
        e.created_at,
        domain.EntryStatus.RETURNED.value,
    )
    return bool(status.endswith(" 1"))
