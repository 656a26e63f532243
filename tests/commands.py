"""Sending commands over Kafka as a machine client does: the CloudEvent headers and, beside
them, ``authorization: Bearer <access token>`` from the (test) identity provider."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaProducer

from ocop_contracts import Envelope, Event
from ocop_runtime.auth import Role
from ocop_runtime.commands import authorization_header
from ocop_runtime.kafka import KafkaAuth, admin_client, client_options, ensure_topics, start_client
from ocop_runtime.kafka_security import (
    Resource,
    agency_bindings,
    agency_reply_topics,
    create_acls,
)
from ocop_runtime.testing import own_topics, token

CITY_OFFICE_CLIENT = "svc-van-phong-dieu-phoi"  # the city office's machine client


def command_headers(
    command: Event, access_token: str | None, *, ce_id: str, source: str = "/tests"
) -> list[tuple[str, bytes]]:
    headers = Envelope(
        id=ce_id,
        type=command.CE_TYPE,
        source=source,
        time=datetime.now(UTC),
        subject=command.key(),
    ).to_headers()
    if access_token is not None:
        headers.append(authorization_header(access_token))
    return headers


async def send_command(
    bootstrap: str,
    command: Event,
    *,
    access_token: str | None = None,
    role: Role | None = Role.CITY_OFFICE,
    auth: KafkaAuth | None = None,
    source: str = "/tests",
    ce_id: str | None = None,
    **claims: Any,
) -> str:
    """Send ``command`` with ``access_token``, or a fresh token of ``role`` (and ``claims``:
    units, producer_id, subject; the city office's machine client by default); None for both:
    no token. ``auth``: the Kafka principal sending it (default: the test operator). Returns the
    command's ce_id."""
    if access_token is None and role is not None:
        claims.setdefault("subject", CITY_OFFICE_CLIENT if role is Role.CITY_OFFICE else None)
        access_token = token(role, **claims)
    ce_id = ce_id or str(uuid4())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(auth))
    await start_client(producer)
    try:
        await producer.send_and_wait(
            own_topics().physical(command.TOPIC),
            key=command.key().encode(),
            value=command.to_json(),
            headers=command_headers(command, access_token, ce_id=ce_id, source=source),
        )
    finally:
        await producer.stop()
    return ce_id


async def grant_in_test_topics(bootstrap: str, name: str, commands: Iterable[str] = ()) -> None:
    """What ``ocop agency add NAME --commands ...`` creates and grants on the catalogue's
    topics (its replies topics), created and granted again on the running test's own topics
    (``own_topics``): no more."""
    names = own_topics()
    commands = tuple(commands)
    await ensure_topics(
        bootstrap,
        [names.physical(t) for t in agency_reply_topics(name, commands)],
        partitions=3,
        replication_factor=1,
    )
    bindings = [
        replace(b, name=names.physical(b.name)) if b.resource is Resource.TOPIC else b
        for b in agency_bindings(name, commands)
    ]
    async with admin_client(bootstrap) as admin:
        await create_acls(admin, bindings)
