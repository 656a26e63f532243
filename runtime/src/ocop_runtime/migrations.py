"""Forward-only SQL migrations, one runner for every service schema.

Files are ``NNNN_description.sql``. The runtime's own files (outbox, inbox, dead letters) are
applied first under the name ``runtime/NNNN_...``, then the service's. Each file runs in its own
transaction with ``search_path`` set to the schema; the whole run holds an advisory lock so two
replicas starting together do not race; each applied file's sha256 is recorded in
``<schema>.schema_migrations`` and a file changed after it was applied stops start-up.

Migrations run as the role that owns the schema (``ocop_<service>_owner``,
``OCOP_MIGRATION_DATABASE_URL``), never as the role the service runs as: the owner creates and
owns every table, and then gives the service's role (``runtime_role``) what it needs and no more:
reading and writing its business tables, but on ``audit_log`` only INSERT and SELECT. The
service's role owns nothing, so it cannot drop the audit table, disable its trigger, or grant
itself the privileges it lacks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from ocop_runtime.db import keeps_session_state

_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """Start-up must stop: the migrations on disk do not match what the database has applied."""


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_directory(directory: Path, prefix: str = "") -> list[Migration]:
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        if not _NAME.match(path.name):
            raise MigrationError(f"{path}: migration files are named NNNN_description.sql")
        migrations.append(Migration(prefix + path.name, path.read_text(encoding="utf-8")))
    numbers = [m.name.rsplit("/", 1)[-1][:4] for m in migrations]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"{directory}: two migrations share a number")
    return migrations


def runtime_migrations() -> list[Migration]:
    return load_directory(Path(str(resources.files("ocop_runtime") / "sql")), prefix="runtime/")


APPEND_ONLY = ("audit_log",)


async def grant_runtime(
    conn: asyncpg.Connection, schema: str, role: str, *, may_create: bool = False
) -> None:
    """Give the service's role ``role`` what it needs in ``schema`` (idempotent, at every
    start-up, so tables added by new migrations are covered): DML on the business tables,
    INSERT and SELECT on the append-only ones, reading the migrations applied. ``may_create``
    (tests only) lets it add tables of its own, which gives it no power over the owner's."""
    s, r = _ident(schema), _ident(role)
    tables = [
        t
        for t in await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')"
            " AND pg_get_userbyid(c.relowner) = current_user",
            schema,
        )
    ]
    statements = [f"GRANT USAGE ON SCHEMA {s} TO {r}"]
    if may_create:
        statements.append(f"GRANT CREATE ON SCHEMA {s} TO {r}")
    for row in tables:
        table = f"{s}.{_ident(row['relname'])}"
        if row["relname"] in APPEND_ONLY:
            statements += [
                f"REVOKE ALL ON {table} FROM {r}",
                f"GRANT SELECT, INSERT ON {table} TO {r}",
            ]
        elif row["relname"] == "schema_migrations":
            statements += [f"REVOKE ALL ON {table} FROM {r}", f"GRANT SELECT ON {table} TO {r}"]
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {r}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    async with conn.transaction():
        for statement in statements:
            await conn.execute(statement)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def migrate(
    conn: asyncpg.Connection,
    schema: str,
    service_dir: Path,
    *,
    runtime_role: str | None = None,
    runtime_may_create: bool = False,
) -> list[str]:
    """Apply pending migrations to ``schema``; return the names applied. With
    ``runtime_role`` (another role than the one connected), grant it its privileges
    (:func:`grant_runtime`)."""
    wanted = runtime_migrations() + load_directory(service_dir)
    lock = await conn.fetchval("SELECT hashtext($1)::bigint", f"ocop.migrate.{schema}")
    keeps_session_state(conn)  # a pooled connection drops the lock on release, whatever happens
    await conn.execute("SELECT pg_advisory_lock($1)", lock)
    try:
        # Inside the lock: two replicas starting on a fresh database must not both create it.
        exists = await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema)
        if not exists:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
            " name text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await conn.fetch(f'SELECT name, checksum FROM "{schema}".schema_migrations')
        applied = {r["name"]: r["checksum"] for r in rows}
        names = {m.name for m in wanted}
        for name in sorted(set(applied) - names):
            raise MigrationError(
                f"schema {schema}: migration {name} was applied but its file is gone; "
                "migrations are forward-only, restore the file"
            )
        done = []
        for m in wanted:
            if m.name in applied:
                if applied[m.name] != m.checksum:
                    raise MigrationError(
                        f"schema {schema}: migration {m.name} changed after it was applied "
                        f"(recorded sha256 {applied[m.name][:12]}…, file {m.checksum[:12]}…); "
                        "restore the file and put the change in a new migration"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                await conn.execute(m.sql)
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (name, checksum) VALUES ($1, $2)',
                    m.name,
                    m.checksum,
                )
            done.append(m.name)
        if runtime_role and runtime_role != await conn.fetchval("SELECT current_user"):
            await grant_runtime(conn, schema, runtime_role, may_create=runtime_may_create)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock)
