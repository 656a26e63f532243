"""One login role per service, owning nothing; one owner role per service's schema; a role can
touch only its own service's schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest


class Connect(Protocol):
    def __call__(self, service: str, *, owner: bool = False) -> Awaitable[asyncpg.Connection]: ...


SERVICES = ("registry", "evaluation", "trade", "inspection", "insights")
# Each service against the next one, so that every schema is both attacked and defended.
NEIGHBOURS = [(s, SERVICES[(i + 1) % len(SERVICES)]) for i, s in enumerate(SERVICES)]


def role_dsn(superuser_dsn: str, service: str, *, owner: bool = False) -> str:
    """The superuser's DSN with the service role's credentials (the local stack's dev password),
    or the schema owner's (``owner``)."""
    parts = urlsplit(superuser_dsn)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    user, password = f"ocop_{service}", f"ocop-dev-{service}"
    if owner:
        user, password = f"{user}_owner", f"{password}-owner"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
async def connect(database_url: str) -> AsyncIterator[Connect]:
    opened: list[asyncpg.Connection] = []

    async def open_as(service: str, *, owner: bool = False) -> asyncpg.Connection:
        conn = await asyncpg.connect(role_dsn(database_url, service, owner=owner))
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_owner_role_owns_the_schema_and_the_service_role_cannot_change_its_tables(
    service: str, connect: Connect, unique: str
) -> None:
    owner = await connect(service, owner=True)
    runtime = await connect(service)
    assert await runtime.fetchval("SELECT current_user") == f"ocop_{service}"
    schema_owner = await owner.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", service
    )
    assert schema_owner == f"ocop_{service}_owner"

    table = f"{service}.roles_probe_{unique}"
    await owner.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    try:
        await owner.execute(f"INSERT INTO {table} VALUES (1)")
        await owner.execute(f"GRANT SELECT, INSERT ON {table} TO ocop_{service}")
        await runtime.execute(f"INSERT INTO {table} VALUES (2)")
        for statement in (
            f"CREATE TABLE {service}.intruder_{unique} (id int)",
            f"ALTER TABLE {table} ADD COLUMN x int",
            f"DROP TABLE {table}",
            f"DELETE FROM {table}",
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await runtime.execute(statement)
        assert await owner.fetchval(f"SELECT count(*) FROM {table}") == 2
    finally:
        await owner.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize(("service", "other"), NEIGHBOURS)
async def test_service_role_can_neither_read_nor_create_in_another_services_schema(
    service: str, other: str, connect: Connect, unique: str
) -> None:
    owner = await connect(other, owner=True)
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
