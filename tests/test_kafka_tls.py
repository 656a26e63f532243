"""The broker with OCOP_KAFKA_TLS=1: SASL over TLS with certificates from a local CA."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from ocop_contracts import topics
from ocop_runtime.kafka import KafkaAuth, start_client
from ocop_runtime.kafka_security import setup

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("kafka-tls")
    env = {
        **os.environ,
        "OCOP_KAFKA_PORT": str(_free_port()),
        "OCOP_KAFKA_CONTROLLER_PORT": str(_free_port()),
        "OCOP_KAFKA_DIR": str(directory),
        "OCOP_KAFKA_TLS": "1",
        "OCOP_KAFKA_HEAP": "256m",
    }
    script = str(ROOT / "deploy" / "kafka.sh")
    subprocess.run([script, "start"], env=env, check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{env['OCOP_KAFKA_PORT']}", directory / "tls" / "ca.pem"
    finally:
        subprocess.run([script, "stop"], env=env, check=False, capture_output=True, timeout=60)


async def _send(bootstrap: str, auth: KafkaAuth) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **auth.options())
    await start_client(producer)
    try:
        await asyncio.wait_for(producer.send_and_wait(topics.REGISTRY_PRODUCTS, b"{}"), 20)
    finally:
        await producer.stop()


async def test_a_tls_broker_takes_sasl_over_tls_and_refuses_plain_connections(
    tls_broker: tuple[str, Path],
) -> None:
    bootstrap, ca = tls_broker
    admin = KafkaAuth(
        security_protocol="SASL_SSL",
        username="admin",
        password="ocop-dev-kafka-admin",
        cafile=str(ca),
    )
    await setup(bootstrap, admin)
    registry = KafkaAuth(
        security_protocol="SASL_SSL",
        username="registry",
        password="ocop-dev-kafka-registry",
        cafile=str(ca),
    )
    await _send(bootstrap, registry)
    plain = KafkaAuth(username="registry", password="ocop-dev-kafka-registry")
    # Refused means the broker closed the connection, not that nothing answered in time: a
    # timeout here fails the test (TimeoutError is not a KafkaConnectionError).
    started = asyncio.get_running_loop().time()
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(_send(bootstrap, plain), 30)
    assert asyncio.get_running_loop().time() - started < 25
    await _send(bootstrap, registry)  # and the broker is still up for TLS clients
