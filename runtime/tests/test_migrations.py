"""The migration runner on the real PostgreSQL server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from ocop_runtime.migrations import MigrationError, migrate, runtime_migrations


def _write(directory: Path, name: str, sql: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(sql)


async def _connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url)


async def test_migrations_apply_once_in_order_and_record_checksums(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"mig_{unique}"
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    _write(tmp_path, "0002_more.sql", "ALTER TABLE things ADD COLUMN label text;")
    conn = await _connect(database_url)
    try:
        applied = await migrate(conn, schema, tmp_path)
        runtime_names = [m.name for m in runtime_migrations()]
        assert runtime_names[:2] == ["runtime/0001_outbox_inbox.sql", "runtime/0002_audit_log.sql"]
        assert applied == [*runtime_names, "0001_things.sql", "0002_more.sql"]
        assert await migrate(conn, schema, tmp_path) == []
        rows = await conn.fetch(
            f"SELECT name, checksum FROM {schema}.schema_migrations ORDER BY name"
        )
        assert [r["name"] for r in rows] == ["0001_things.sql", "0002_more.sql", *runtime_names]
        assert all(len(r["checksum"]) == 64 for r in rows)
        await conn.execute(f"INSERT INTO {schema}.things VALUES (1, 'x')")
        assert await conn.fetchval(f"SELECT to_regclass('{schema}.outbox')") is not None
    finally:
        await conn.close()


async def test_a_changed_applied_migration_stops_start_up_with_a_clear_message(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"mig_{unique}"
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    conn = await _connect(database_url)
    try:
        await migrate(conn, schema, tmp_path)
        _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id bigint PRIMARY KEY);")
        with pytest.raises(MigrationError, match=r"0001_things.sql changed after it was applied"):
            await migrate(conn, schema, tmp_path)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"mig_{unique}"
    _write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (id int);")
    _write(tmp_path, "0002_bad.sql", "CREATE TABLE half (id int); SELECT no_such_function();")
    conn = await _connect(database_url)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, schema, tmp_path)
        assert await conn.fetchval(f"SELECT to_regclass('{schema}.half')") is None
        names = await conn.fetch(f"SELECT name FROM {schema}.schema_migrations")
        assert "0002_bad.sql" not in {r["name"] for r in names}
        assert "0001_ok.sql" in {r["name"] for r in names}
    finally:
        await conn.close()


async def test_two_replicas_starting_on_a_fresh_database_both_start_and_apply_each_file_once(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"mig_{unique}"
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    conns = [await _connect(database_url) for _ in range(2)]
    try:
        # No schema yet: both race to create it, and both must succeed.
        results = await asyncio.gather(*(migrate(c, schema, tmp_path) for c in conns))
        everything = len(runtime_migrations()) + 1
        assert sorted(len(r) for r in results) == [0, everything]
    finally:
        for c in conns:
            await c.close()


def test_migration_files_must_be_numbered(tmp_path: Path) -> None:
    from ocop_runtime.migrations import load_directory

    _write(tmp_path, "things.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_description\.sql"):
        load_directory(tmp_path)
