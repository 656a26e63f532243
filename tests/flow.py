"""Helpers for the cross-service tests: services in-process on the real broker and database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from ocop_evaluation.app import create_app as create_evaluation
from ocop_evaluation.settings import EvaluationSettings
from ocop_registry.app import create_app as create_registry
from ocop_registry.settings import RegistrySettings
from ocop_runtime.kafka import read_all

from ocop_runtime.testing import wait_until

Settings = Callable[..., Any]


def registry_app(make_settings: Settings, **overrides: Any) -> Any:
    return create_registry(make_settings(RegistrySettings, **overrides))


def evaluation_app(make_settings: Settings, **overrides: Any) -> Any:
    return create_evaluation(make_settings(EvaluationSettings, **overrides))


async def records_on(bootstrap: str, topic: str, predicate: Callable[[Any], bool]) -> list[Any]:
    return [r for _, r in await read_all(bootstrap, topic) if predicate(r)]


def header(record: Any, name: str) -> str | None:
    for k, v in record.headers:
        if k == name:
            return bytes(v).decode()
    return None


async def scalar(database_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def send_raw(
    bootstrap: str, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=key, value=value, headers=headers)
    finally:
        await producer.stop()


async def producer_copy(client: Any, producer_id: str) -> dict[str, Any] | None:
    response = await client.get(f"/producers/{producer_id}")
    return response.json() if response.status_code == 200 else None


async def wait_for_copy(client: Any, producer_id: str, *, version: int = 1, timeout: float = 30) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        copy = await producer_copy(client, producer_id)
        return copy if copy and copy["version"] >= version else None

    return await wait_until(probe, timeout=timeout, what=f"evaluation to hold producer {producer_id} v{version}")
