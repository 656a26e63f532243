"""Kafka principals and ACLs: who may write and read which topics.

- Each service has a SCRAM principal named after it. It may write only its own event topics,
  its replies and its dead-letter topic (and create those), and read only the topics it
  consumes (``ocop_contracts.topics.SUBSCRIPTIONS``) with consumer groups named
  ``ocop.<service>`` or starting with ``ocop.<service>.``.
- An agency (another government system) gets a principal ``agency-<name>`` that may read the
  public event topics and its replies with groups starting with ``agency.<name>.``, and write
  commands; it can read no command topic and no dead letters.

``python -m ocop_runtime.kafka_security setup`` (run by ``make up`` and ``make test`` after the
broker starts) creates every catalogue topic and the services' ACLs; ``ocop agency add NAME``
adds an agency. Both use the operator's credentials (``OCOP_KAFKA_ADMIN_*``). Credentials and
ACLs go through the Kafka protocol (AlterUserScramCredentials, CreateAcls), so no Kafka
command-line tool is needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest_v1
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from ocop_contracts import topics
from ocop_runtime.kafka import KafkaAuth, admin_client, ensure_topics

SCRAM_ITERATIONS = 8192


class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    IDEMPOTENT_WRITE = 12


ALLOW = 3


@dataclass(frozen=True, order=True)
class Binding:
    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def wire(self) -> tuple[Any, ...]:
        return (
            int(self.resource),
            self.name,
            int(self.pattern),
            f"User:{self.principal}",
            "*",
            int(self.operation),
            ALLOW,
        )


def _topics(principal: str, names: Iterable[str], *ops: Operation) -> list[Binding]:
    return [
        Binding(principal, Resource.TOPIC, name, Pattern.LITERAL, op)
        for name in names
        for op in ops
    ]


def _groups(principal: str, prefix: str, *, literal: str | None = None) -> list[Binding]:
    out = [Binding(principal, Resource.GROUP, prefix, Pattern.PREFIXED, Operation.READ)]
    if literal:
        out.append(Binding(principal, Resource.GROUP, literal, Pattern.LITERAL, Operation.READ))
    return out


def service_bindings(service: str) -> list[Binding]:
    writes = topics.written_by(service)
    reads = topics.SUBSCRIPTIONS.get(service, ())
    return [
        *_topics(service, writes, Operation.WRITE, Operation.DESCRIBE, Operation.CREATE),
        *_topics(service, reads, Operation.READ, Operation.DESCRIBE),
        *_groups(service, f"ocop.{service}.", literal=f"ocop.{service}"),
        Binding(
            service, Resource.CLUSTER, "kafka-cluster", Pattern.LITERAL, Operation.IDEMPOTENT_WRITE
        ),
    ]


def agency_principal(name: str) -> str:
    return f"agency-{name}"


def agency_bindings(name: str) -> list[Binding]:
    principal = agency_principal(name)
    public = (*topics.EVENT_TOPICS, *(topics.replies(s) for s in topics.COMMAND_SERVICES))
    commands = [topics.commands(s) for s in topics.COMMAND_SERVICES]
    return [
        *_topics(principal, public, Operation.READ, Operation.DESCRIBE),
        *_topics(principal, commands, Operation.WRITE, Operation.DESCRIBE),
        *_groups(principal, f"agency.{name}."),
        Binding(
            principal,
            Resource.CLUSTER,
            "kafka-cluster",
            Pattern.LITERAL,
            Operation.IDEMPOTENT_WRITE,
        ),
    ]


class _CreateAcls(Request[CreateAclsRequest_v1]):
    """Many ACL bindings in one CreateAcls request (aiokafka's builder sends one)."""

    API_KEY = 30

    def __init__(self, bindings: Sequence[Binding]) -> None:
        self.bindings = bindings

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class([b.wire() for b in self.bindings])


class _AlterScramResponse(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramStruct(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[_AlterScramStruct]):
    API_KEY = 51

    def __init__(self, user: str, password: str) -> None:
        salt = secrets.token_bytes(32)
        salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
        # SCRAM-SHA-512 is mechanism 2 in the protocol.
        self.upsertion: tuple[Any, ...] = (user, 2, SCRAM_ITERATIONS, salt, salted, {})

    def build(self, request_struct_class: type[_AlterScramStruct]) -> _AlterScramStruct:
        return request_struct_class([], [self.upsertion], {})


class KafkaSecurityError(RuntimeError):
    pass


async def create_acls(admin: AIOKafkaAdminClient, bindings: Sequence[Binding]) -> None:
    response = await admin._send_request(_CreateAcls(bindings))
    failures = [
        f"{b}: {message or code}"
        for b, (code, message) in zip(bindings, response.creation_responses, strict=True)
        if code
    ]
    if failures:
        raise KafkaSecurityError("ACLs refused: " + "; ".join(failures[:5]))


async def set_password(admin: AIOKafkaAdminClient, user: str, password: str) -> None:
    response = await admin._send_request(_AlterScram(user, password))
    for name, code, message, _ in response.results:
        if code:
            raise KafkaSecurityError(f"cannot set the password of {name}: {message or code}")


async def setup(bootstrap: str, auth: KafkaAuth | None = None, *, partitions: int = 3) -> int:
    """Create every catalogue topic and the services' ACLs (idempotent); return the count."""
    await ensure_topics(
        bootstrap, topics.all_topics(), partitions=partitions, replication_factor=1, auth=auth
    )
    bindings = [b for s in topics.SUBSCRIPTIONS for b in service_bindings(s)]
    async with admin_client(bootstrap, auth) as admin:
        await create_acls(admin, bindings)
    return len(bindings)


async def add_agency(
    bootstrap: str, name: str, password: str, auth: KafkaAuth | None = None
) -> str:
    principal = agency_principal(name)
    async with admin_client(bootstrap, auth) as admin:
        await set_password(admin, principal, password)
        await create_acls(admin, agency_bindings(name))
    return principal


def main(argv: Sequence[str] = tuple(sys.argv[1:])) -> None:
    """``python -m ocop_runtime.kafka_security setup [BOOTSTRAP]``."""
    if not argv or argv[0] != "setup":
        raise SystemExit("usage: python -m ocop_runtime.kafka_security setup [BOOTSTRAP]")
    bootstrap = (
        argv[1]
        if len(argv) > 1
        else os.environ.get("OCOP_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    count = asyncio.run(
        setup(bootstrap, partitions=int(os.environ.get("OCOP_TOPIC_PARTITIONS", "3")))
    )
    print(f"topics and {count} ACL bindings in place on {bootstrap}")


if __name__ == "__main__":
    main()
