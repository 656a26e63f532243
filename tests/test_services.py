"""Each service starts on the real broker and database and serves the shared operations endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from ocop_contracts import topics
from ocop_evaluation.app import create_app as create_evaluation
from ocop_evaluation.settings import EvaluationSettings
from ocop_insights.app import create_app as create_insights
from ocop_insights.settings import InsightsSettings
from ocop_inspection.app import create_app as create_inspection
from ocop_inspection.settings import InspectionSettings
from ocop_registry.app import create_app as create_registry
from ocop_registry.settings import RegistrySettings
from ocop_runtime.kafka import admin_client
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import own_topics, running
from ocop_trade.app import create_app as create_trade
from ocop_trade.settings import TradeSettings

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_SQL = ROOT / "runtime" / "src" / "ocop_runtime" / "sql"


@dataclass(frozen=True)
class Service:
    name: str
    settings_type: type[ServiceSettings]
    create_app: Callable[[Any], FastAPI]
    subscribes: frozenset[str]
    publishes: frozenset[str] = frozenset()


SERVICES = [
    Service(
        "registry",
        RegistrySettings,
        create_registry,
        subscribes=frozenset(
            {topics.EVALUATION_RESULTS, topics.EVALUATION_CERTIFICATES, topics.commands("registry")}
        ),
        publishes=frozenset(
            {
                topics.REGISTRY_PRODUCERS,
                topics.REGISTRY_PRODUCTS,
                topics.REGISTRY_APPLICATIONS,
                topics.replies("registry"),
            }
        ),
    ),
    Service(
        "evaluation",
        EvaluationSettings,
        create_evaluation,
        subscribes=frozenset(
            {
                topics.REGISTRY_PRODUCERS,
                topics.REGISTRY_PRODUCTS,
                topics.REGISTRY_APPLICATIONS,
                topics.INSPECTION_FINDINGS,
                topics.commands("evaluation"),
            }
        ),
        publishes=frozenset(
            {
                topics.EVALUATION_RESULTS,
                topics.EVALUATION_CERTIFICATES,
                topics.replies("evaluation"),
            }
        ),
    ),
    Service(
        "trade",
        TradeSettings,
        create_trade,
        subscribes=frozenset(
            {
                topics.REGISTRY_PRODUCTS,
                topics.EVALUATION_CERTIFICATES,
                topics.commands("trade"),
            }
        ),
        publishes=frozenset(
            {topics.TRADE_PROMOTIONS, topics.TRADE_LISTINGS, topics.replies("trade")}
        ),
    ),
    Service(
        "inspection",
        InspectionSettings,
        create_inspection,
        subscribes=frozenset(
            {
                topics.REGISTRY_PRODUCERS,
                topics.REGISTRY_PRODUCTS,
                topics.EVALUATION_CERTIFICATES,
                topics.commands("inspection"),
            }
        ),
        publishes=frozenset(
            {topics.INSPECTION_CAMPAIGNS, topics.INSPECTION_FINDINGS, topics.replies("inspection")}
        ),
    ),
    Service(
        "insights",
        InsightsSettings,
        create_insights,
        subscribes=frozenset(topics.SUBSCRIPTIONS["insights"]),
        publishes=frozenset({topics.INSIGHTS_STATISTICS}),
    ),
]

each_service = pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])


def expected_migrations(service: str) -> dict[str, str]:
    """name -> sha256 of every migration file the service's schema must have applied."""
    files = {f"runtime/{p.name}": p for p in RUNTIME_SQL.glob("*.sql")}
    files |= {p.name: p for p in (ROOT / "services" / service / "migrations").glob("*.sql")}
    return {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()}


async def applied_migrations(database_url: str, schema: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(f'SELECT name, checksum FROM "{schema}".schema_migrations')
        return {r["name"]: r["checksum"] for r in rows}
    finally:
        await conn.close()


async def tables_in(database_url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        return {r["table_name"] for r in rows}
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@each_service
async def test_service_starts_migrates_its_own_schema_and_is_healthy_and_ready(
    service: Service, make_settings: Any, database_url: str, unique: str
) -> None:
    settings = make_settings(service.settings_type)
    assert settings.db_schema == f"{service.name}_{unique}"
    async with running(service.create_app(settings)) as client:
        applied = await applied_migrations(database_url, settings.db_schema)
        assert "runtime/0001_outbox_inbox.sql" in applied
        assert applied == expected_migrations(service.name)
        assert {"outbox", "inbox", "dead_letters"} <= await tables_in(
            database_url, settings.db_schema
        )

        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["service"] == service.name

        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"postgres": "ok", "kafka": "ok"}


@each_service
async def test_service_exposes_prometheus_metrics_with_its_identity(
    service: Service, make_settings: Any
) -> None:
    async with running(service.create_app(make_settings(service.settings_type))) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert "ocop_service_info" in families, sorted(families)
    [sample] = families["ocop_service_info"].samples
    assert sample.labels == {"service": service.name}
    assert sample.value == 1


@each_service
async def test_service_status_names_its_consumer_group_and_subscribed_topics(
    service: Service, make_settings: Any, unique: str
) -> None:
    async with running(service.create_app(make_settings(service.settings_type))) as client:
        response = await client.get("/status")
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["service"] == service.name
    assert status["consumer_group"] == f"ocop.{service.name}.{unique}"
    assert set(status["subscribed_topics"]) == {
        own_topics().physical(t) for t in service.subscribes
    }
    assert status["outbox_backlog"] == 0
    assert status["dead_letters"] == 0  # the test's own topics hold nothing to dead-letter


@each_service
async def test_service_documents_its_topics_in_asyncapi_3_and_its_http_api_in_openapi(
    service: Service, make_settings: Any
) -> None:
    async with running(service.create_app(make_settings(service.settings_type))) as client:
        asyncapi = await client.get("/asyncapi.json")
        openapi = await client.get("/openapi.json")

    assert asyncapi.status_code == 200, asyncapi.text
    document = asyncapi.json()
    assert document["asyncapi"] == "3.0.0"
    channels = document.get("channels") or {}
    addresses = {channel["address"] for channel in channels.values()}
    # On the wire, under this test's topic prefix.
    subscribes = {own_topics().physical(t) for t in service.subscribes}
    publishes = {own_topics().physical(t) for t in service.publishes}
    assert subscribes | publishes <= addresses, sorted(addresses)

    def topics_of(action: str) -> set[str]:
        found = set()
        for operation in (document.get("operations") or {}).values():
            if operation.get("action") == action:
                ref = operation["channel"]["$ref"].removeprefix("#/channels/")
                found.add(channels[unquote(ref)]["address"])
        return found

    assert topics_of("receive") == subscribes
    assert publishes <= topics_of("send")

    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    assert {"/healthz", "/readyz", "/status", "/asyncapi.json"} <= set(paths)


async def test_every_catalogued_topic_exists_with_several_partitions_once_a_service_started(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    settings = make_settings(RegistrySettings)
    async with running(create_registry(settings)), admin_client(kafka_bootstrap) as admin:
        described = await admin.describe_topics(list(topics.all_topics()))
    by_name = {d["topic"]: d for d in described}
    assert set(by_name) == set(topics.all_topics())
    for name, description in by_name.items():
        assert description["error_code"] == 0, f"{name}: error {description['error_code']}"
        assert len(description["partitions"]) > 1, f"{name} has one partition"


async def test_readyz_is_503_until_the_service_has_started(make_settings: Any) -> None:
    app = create_registry(make_settings(RegistrySettings))
    # Without the lifespan the app has no pool or producer yet: not ready, but alive.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "starting"
    assert health.status_code == 200


@each_service
async def test_service_refuses_to_start_when_no_kafka_broker_is_reachable(
    service: Service, make_settings: Any
) -> None:
    port = free_port()
    settings = make_settings(service.settings_type, kafka_bootstrap_servers=f"127.0.0.1:{port}")

    async def start() -> None:
        async with running(service.create_app(settings)):
            pass

    with pytest.raises(KafkaConnectionError, match=rf"127\.0\.0\.1'?, {port}\b"):
        await asyncio.wait_for(start(), 60)
