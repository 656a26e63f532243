"""Kafka clients the runtime starts are closed again when starting them fails."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from ocop_runtime.kafka import start_client


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


@pytest.mark.parametrize("kind", [AIOKafkaConsumer, AIOKafkaProducer])
async def test_a_client_that_fails_to_start_is_closed_and_never_reported_unclosed(
    kind: Any,
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        client = kind(bootstrap_servers=f"127.0.0.1:{_closed_port()}", request_timeout_ms=1000)
        with pytest.raises(KafkaConnectionError):
            await start_client(client)
        del client
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in reported] == []
