"""The broker's principals and ACLs, on the real broker: services write only their own
topics, agencies read only public ones, wrong passwords are refused."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from typer.testing import CliRunner

from ocop_contracts import topics
from ocop_evaluation.app import service_spec as evaluation_spec
from ocop_inspection.app import service_spec as inspection_spec
from ocop_registry.app import service_spec as registry_spec
from ocop_registry.usecases import Registry
from ocop_runtime.cli import app
from ocop_runtime.kafka import KafkaAuth, start_client
from ocop_runtime.kafka_security import agency_principal
from ocop_runtime.testing import wait_until
from ocop_trade.app import service_spec as trade_spec


def service(name: str) -> KafkaAuth:
    return KafkaAuth(username=name, password=f"ocop-dev-kafka-{name}")


async def send(bootstrap: str, auth: KafkaAuth, topic: str, value: bytes = b"{}") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **auth.options())
    await start_client(producer)
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"k"), 20)
    finally:
        await producer.stop()


async def read(
    bootstrap: str, auth: KafkaAuth, topic: str, group: str, *, until: bytes | None = None
) -> list[bytes]:
    """The values ``auth`` reads from ``topic`` as member of ``group``: until the value
    ``until`` arrives (an allowed read must prove it read), or one poll when it is None."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **auth.options(),
    )
    await start_client(consumer)
    values: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 20)
            values += [r.value for records in batch.values() for r in records]
            if until is None or until in values:
                return values
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{auth.username} read {len(values)} records, not {until!r}")
    finally:
        await consumer.stop()


async def test_a_service_writes_its_own_topics_but_not_another_services(
    kafka_bootstrap: str,
) -> None:
    await send(kafka_bootstrap, service("registry"), topics.REGISTRY_PRODUCTS)
    await send(kafka_bootstrap, service("registry"), topics.dlq("registry"))
    for foreign in (
        topics.EVALUATION_CERTIFICATES,
        topics.dlq("evaluation"),
        topics.replies("trade"),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            await send(kafka_bootstrap, service("registry"), foreign)


async def test_a_service_reads_only_what_it_consumes_and_with_its_own_groups(
    kafka_bootstrap: str, unique: str
) -> None:
    marker = f'{{"marker": "{unique}"}}'.encode()
    await send(kafka_bootstrap, service("evaluation"), topics.EVALUATION_CERTIFICATES, marker)
    read_back = await read(
        kafka_bootstrap,
        service("trade"),
        topics.EVALUATION_CERTIFICATES,
        f"ocop.trade.{unique}",
        until=marker,
    )
    assert marker in read_back
    with pytest.raises(TopicAuthorizationFailedError):
        await read(
            kafka_bootstrap, service("trade"), topics.commands("registry"), f"ocop.trade.{unique}"
        )
    with pytest.raises(GroupAuthorizationFailedError):
        await read(
            kafka_bootstrap,
            service("trade"),
            topics.EVALUATION_CERTIFICATES,
            f"ocop.registry.{unique}",
        )


async def test_a_wrong_password_is_refused(kafka_bootstrap: str) -> None:
    wrong = KafkaAuth(username="registry", password="not-the-password")
    with pytest.raises(KafkaConnectionError):
        await send(kafka_bootstrap, wrong, topics.REGISTRY_PRODUCTS)


async def test_an_agency_added_by_the_cli_reads_public_topics_but_no_dead_letters_or_commands(
    kafka_bootstrap: str, unique: str
) -> None:
    name = f"so-{unique}"
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["agency", "add", name, "--bootstrap", kafka_bootstrap]
    )
    assert result.exit_code == 0, result.output
    settings = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    assert settings["sasl.username"] == agency_principal(name)
    agency = KafkaAuth(username=settings["sasl.username"], password=settings["sasl.password"])
    group = f"{settings['group.id.prefix']}dashboard"

    marker = f'{{"marker": "{unique}"}}'.encode()
    await send(kafka_bootstrap, service("registry"), topics.REGISTRY_PRODUCTS, marker)
    assert marker in await read(
        kafka_bootstrap, agency, topics.REGISTRY_PRODUCTS, group, until=marker
    )
    # Read-only unless granted: no command topic takes its writes.
    for service_name in topics.COMMAND_SERVICES:
        with pytest.raises(TopicAuthorizationFailedError):
            await send(kafka_bootstrap, agency, topics.commands(service_name))
    for private in (
        topics.dlq("registry"),
        topics.commands("registry"),
        topics.replies("registry"),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            await read(kafka_bootstrap, agency, private, group)
    with pytest.raises(TopicAuthorizationFailedError):
        await send(kafka_bootstrap, agency, topics.REGISTRY_PRODUCTS)


async def test_an_agency_writes_a_command_topic_only_when_granted_and_loses_it_when_re_added(
    kafka_bootstrap: str, unique: str
) -> None:
    name = f"so-{unique}"
    add = ["agency", "add", name, "--bootstrap", kafka_bootstrap, "--password", f"pw-{unique}"]
    granted = await asyncio.to_thread(CliRunner().invoke, app, [*add, "--commands", "registry"])
    assert granted.exit_code == 0, granted.output
    assert "topics.write=ocop.registry.commands.v1" in granted.output
    own_replies = topics.agency_replies("registry", name)
    assert f"topics.replies={own_replies}" in granted.output
    agency = KafkaAuth(username=agency_principal(name), password=f"pw-{unique}")
    await send(kafka_bootstrap, agency, topics.commands("registry"))
    with pytest.raises(TopicAuthorizationFailedError):
        await send(kafka_bootstrap, agency, topics.commands("evaluation"))
    # Its own replies topic: created, answered on by the registry (not by another service),
    # read by the agency alone; the shared replies topic it no longer reads.
    marker = f'{{"marker": "{unique}"}}'.encode()
    await send(kafka_bootstrap, service("registry"), own_replies, marker)
    with pytest.raises(TopicAuthorizationFailedError):
        await send(kafka_bootstrap, service("evaluation"), own_replies)
    group = f"agency.{name}.replies"
    assert marker in await read(kafka_bootstrap, agency, own_replies, group, until=marker)
    with pytest.raises(TopicAuthorizationFailedError):
        await read(kafka_bootstrap, agency, topics.replies("registry"), group)

    again = await asyncio.to_thread(CliRunner().invoke, app, add)
    assert again.exit_code == 0, again.output

    async def revoked() -> bool:
        try:
            await send(kafka_bootstrap, agency, topics.commands("registry"))
        except TopicAuthorizationFailedError:
            return True
        return False

    await wait_until(revoked, timeout_seconds=30, what="the registry grant to be taken back")
    with pytest.raises(TopicAuthorizationFailedError):
        await read(kafka_bootstrap, agency, own_replies, f"agency.{name}.again")
    wrong = await asyncio.to_thread(CliRunner().invoke, app, [*add, "--commands", "nowhere"])
    assert wrong.exit_code == 2


@pytest.mark.parametrize(
    "name, spec",
    [
        ("registry", lambda: registry_spec(Registry(public_base_url="http://x"))),
        ("evaluation", evaluation_spec),
        ("trade", trade_spec),
        ("inspection", inspection_spec),
    ],
)
def test_every_service_subscribes_only_to_topics_its_acls_let_it_read(name: str, spec: Any) -> None:
    assert set(spec().routes.topics) <= set(topics.SUBSCRIPTIONS[name])
    assert {e.TOPIC for e in spec().publishes} <= set(topics.written_by(name))


async def test_command_and_dead_letter_topics_keep_records_three_days_and_events_the_default(
    kafka_bootstrap: str,
) -> None:
    """Commands may carry contact persons, dead letters may be such commands: their topics
    forget them after three days, so an erasure reaches Kafka's copy within three days."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from ocop_runtime.kafka import SHORT_RETENTION_MS, admin_client

    names = [
        *(topics.commands(s) for s in topics.COMMAND_SERVICES),
        topics.dlq("registry"),
        topics.dlq("evaluation"),
        topics.REGISTRY_PRODUCERS,
    ]
    async with admin_client(kafka_bootstrap) as admin:
        [response] = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, n, configs={"retention.ms": None})
                for n in names
            ]
        )
    retention = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}["retention.ms"]
        for resource in response.resources
    }
    for name in names[:-1]:
        assert retention[name] == str(SHORT_RETENTION_MS), name
    assert int(retention[topics.REGISTRY_PRODUCERS]) > SHORT_RETENTION_MS


def _describe_cluster_as_nobody(port: int) -> str:
    """Send the controller a DescribeCluster (v1, controller endpoint) without authenticating;
    say whether it answered (and with which error code) or closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        client = b"nobody"
        header = struct.pack(">hhih", 60, 1, 7, len(client)) + client + b"\x00"
        body = b"\x00\x02\x00"  # no authorised operations; endpoint type controller; no tags
        sock.sendall(struct.pack(">i", len(header + body)) + header + body)
        try:
            size = sock.recv(4)
        except ConnectionResetError:
            return "closed"
        if len(size) < 4:
            return "closed"
        data = sock.recv(struct.unpack(">i", size)[0])
        _, error = struct.unpack(">ih", data[5:11])  # after correlation id and header tags
        return f"answered with error {error}"


def test_the_controller_listener_serves_no_unauthenticated_client() -> None:
    # It used to be plaintext with ANONYMOUS a super user: any local process could administer
    # the cluster through it.
    port = int(os.environ.get("OCOP_KAFKA_CONTROLLER_PORT", "0"))
    if not port:
        pytest.skip("the test stack's controller port is not known (run with make test)")

    assert _describe_cluster_as_nobody(port) == "closed"
