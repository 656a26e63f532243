"""One login role per service, and a role can touch only its own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

Connect = Callable[[str], Awaitable[asyncpg.Connection]]

SERVICES = ("registry", "evaluation", "trade", "inspection", "insights")
# Each service against the next one, so that every schema is both attacked and defended.
NEIGHBOURS = [(s, SERVICES[(i + 1) % len(SERVICES)]) for i, s in enumerate(SERVICES)]


def role_dsn(superuser_dsn: str, service: str) -> str:
    """The superuser's DSN with the service role's credentials (the local stack's dev password)."""
    parts = urlsplit(superuser_dsn)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(f'ocop_{service}', safe='')}:{quote(f'ocop-dev-{service}', safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
async def connect(database_url: str) -> AsyncIterator[Connect]:
    opened: list[asyncpg.Connection] = []

    async def open_as(service: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(role_dsn(database_url, service))
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_service_role_owns_its_schema_and_can_create_tables_in_it(
    service: str, connect: Connect, unique: str
) -> None:
    conn = await connect(service)
    assert await conn.fetchval("SELECT current_user") == f"ocop_{service}"
    owner = await conn.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", service
    )
    assert owner == f"ocop_{service}"

    table = f"{service}.roles_probe_{unique}"
    await conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    try:
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 1
    finally:
        await conn.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize(("service", "other"), NEIGHBOURS)
async def test_service_role_can_neither_read_nor_create_in_another_services_schema(
    service: str, other: str, connect: Connect, unique: str
) -> None:
    owner = await connect(other)
    intruder = await connect(service)
    table = f"{other}.roles_probe_{unique}"
    await owner.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    try:
        await owner.execute(f"INSERT INTO {table} VALUES (1)")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await intruder.fetchval(f"SELECT count(*) FROM {table}")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await intruder.execute(f"CREATE TABLE {other}.intruder_{unique} (id int)")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await intruder.execute(f"DROP TABLE {table}")
        assert await owner.fetchval(f"SELECT count(*) FROM {table}") == 1
    finally:
        await owner.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize("service", SERVICES)
async def test_service_role_cannot_create_tables_in_public(
    service: str, connect: Connect, unique: str
) -> None:
    conn = await connect(service)
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await conn.execute(f"CREATE TABLE public.roles_probe_{unique} (id int)")
    exists = await conn.fetchval("SELECT to_regclass($1)", f"public.roles_probe_{unique}")
    assert exists is None
