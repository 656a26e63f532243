"""Pytest plugin for ocop's tests: the real test stack, services run in-process, honest waits.

``make test`` starts a private Kafka and PostgreSQL and exports ``OCOP_TEST_KAFKA_BOOTSTRAP``,
``OCOP_TEST_DATABASE_URL`` and ``OCOP_TEST_KAFKA_CTL``. Each test gets its own schema and consumer
group (``unique``), never a truncate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ocop_contracts.events import LegalForm, ProducerRegistered
from ocop_runtime.auth import Role
from ocop_runtime.devidp import ensure_key, issue_token, jwks_url
from ocop_runtime.kafka import TopicNames
from ocop_runtime.settings import ServiceSettings, dev_database_url, dev_owner_url
from ocop_runtime.telemetry import configure_tracing

S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run the suite with `make test`, which starts the test stack",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _required_env("OCOP_TEST_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def database_url() -> str:
    return _required_env("OCOP_TEST_DATABASE_URL")


@pytest.fixture
def unique() -> str:
    return uuid4().hex[:10]


TEST_TOPIC_ROOT = "test."  # the test broker lets every service use topics under it
_topics = TopicNames()


def own_topics() -> TopicNames:
    """The running test's topic names: every service a test starts works on topics of its own
    (``OCOP_TOPIC_PREFIX`` = ``test.<unique>.``), so it never replays what earlier tests
    published and no test has to tidy up after another. Helpers that send or read topics on
    behalf of a test name them through this."""
    return _topics


@pytest.fixture(autouse=True)
def _own_topics(unique: str) -> Iterator[TopicNames]:
    global _topics
    _topics = TopicNames(f"{TEST_TOPIC_ROOT}{unique}.")
    try:
        yield _topics
    finally:
        _topics = TopicNames()


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span the in-process services finish, for trace assertions."""
    provider = configure_tracing("tests", None)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="session")
async def service_logins(database_url: str) -> Callable[[str], str]:
    """The DSN of each service's own login role (``ocop_<service>``, made by the test stack's
    PostgreSQL like the local stack's): services under test log in as in production, not as
    the superuser. The roles may create schemas, so that each test can have its own."""
    conn = await asyncpg.connect(database_url)
    try:
        roles = [
            r["rolname"]
            for r in await conn.fetch(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'ocop\\_%' AND rolcanlogin"
            )
        ]
        for role in roles:
            await conn.execute(f'GRANT CREATE ON DATABASE ocop TO "{role}"')
    finally:
        await conn.close()
    server = urlsplit(database_url)

    def login(service: str) -> str:
        if f"ocop_{service}" not in roles:
            pytest.fail(f"the test stack has no login role ocop_{service}", pytrace=False)
        return dev_database_url(service, server.hostname or "127.0.0.1", server.port or 5432)

    return login


@pytest.fixture(scope="session")
def owner_logins(database_url: str, service_logins: Callable[[str], str]) -> Callable[[str], str]:
    """The DSN of the role owning each service's schemas (``ocop_<service>_owner``): services
    under test migrate as it and run as :func:`service_logins`, as in production."""
    server = urlsplit(database_url)

    def login(service: str) -> str:
        service_logins(service)
        return dev_owner_url(service, server.hostname or "127.0.0.1", server.port or 5432)

    return login


@pytest.fixture
def make_settings(
    kafka_bootstrap: str,
    database_url: str,
    unique: str,
    service_logins: Callable[[str], str],
    owner_logins: Callable[[str], str],
) -> Callable[..., ServiceSettings]:
    """Settings for an in-process service with its own schema and consumer group, logged in as
    the service's own database role (migrating as the schema's owner role)."""

    def make(settings_type: type[S], **overrides: Any) -> S:
        service = settings_type.model_fields["service"].default
        values: dict[str, Any] = {
            "env": "test",
            "database_url": service_logins(service),
            "migration_database_url": owner_logins(service),
            "db_schema": f"{service}_{unique}",
            "consumer_group": f"ocop.{service}.{unique}",
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": own_topics().prefix,
            "handler_backoff_seconds": 0.05,
            "handler_backoff_max_seconds": 0.5,
            "relay_poll_seconds": 0.5,
            "relay_retry_seconds": 0.3,
            "oidc_jwks_url": jwks_url(session_idp()),
        }
        values.update(overrides)
        return settings_type(**values)

    return make


@functools.cache
def session_idp() -> Path:
    """A signing key for the test session's tokens (made on first use, not at import)."""
    directory = Path(tempfile.mkdtemp(prefix="ocop-test-idp-"))
    ensure_key(directory)
    return directory


def token(
    *roles: Role | str,
    units: Iterable[str] = (),
    producer_id: UUID | None = None,
    subject: str | None = None,
    agency: str | None = None,
) -> str:
    """A valid access token from the test issuer (``agency``: an agency's machine client)."""
    return issue_token(
        session_idp(),
        roles=[str(r) for r in roles],
        units=units,
        producer_id=producer_id,
        subject=subject,
        agency=agency,
    )


def bearer(*roles: Role | str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, **claims)}"}


@contextlib.asynccontextmanager
async def running(
    app: FastAPI, *, role: Role | None = Role.CITY_OFFICE
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan (pool, migrations, broker, relay) and give an HTTP client to it,
    sending a token of ``role`` (the city office by default; None: no token)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = bearer(role, subject=f"test-{role}") if role else {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://service", headers=headers
        ) as client:
            yield client


async def wait_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout_seconds: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout_seconds:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


def producer_registered(
    producer_id: UUID | None = None, *, name: str = "HTX thử nghiệm"
) -> ProducerRegistered:
    """A valid ``ProducerRegistered`` for tests and benchmarks."""
    return ProducerRegistered(
        producer_id=producer_id or uuid4(),
        legal_form=LegalForm.COOPERATIVE,
        name=name,
        commune_code="00004",
        registered_at=datetime.now(UTC),
    )


def kafka_ctl(action: str) -> None:
    """Stop or start the test broker (``deploy/kafka.sh``), for failure tests."""
    script = _required_env("OCOP_TEST_KAFKA_CTL")
    subprocess.run([script, action], check=True, timeout=180)


@contextlib.asynccontextmanager
async def serving(service_app: FastAPI) -> AsyncIterator[str]:
    """Serve ``service_app`` over real HTTP on a free port; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(service_app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:

        async def started() -> bool:
            if task.done():
                task.result()  # start-up failed: raise its error
            return server.started

        await wait_until(started, timeout_seconds=60, what="the service to start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def record_of(
    event: Any,
    *,
    names: TopicNames | None = None,
    partition: int = 0,
    offset: int = 0,
    ce_id: str | None = None,
    source: str = "/tests",
    value: bytes | None = None,
) -> Any:
    """A Kafka record carrying ``event`` as a service publishes it (CloudEvents headers, JSON
    value), for feeding consumers directly in handler tests."""
    from aiokafka.structs import ConsumerRecord

    from ocop_contracts import Envelope

    body = event.to_json() if value is None else value
    headers = Envelope(
        id=ce_id or str(uuid4()),
        type=event.CE_TYPE,
        source=source,
        time=datetime.now(UTC),
        subject=event.key(),
    ).to_headers()
    return ConsumerRecord(
        topic=(names or TopicNames()).physical(event.TOPIC),
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=event.key().encode(),
        value=body,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(body),
        headers=headers,
    )
