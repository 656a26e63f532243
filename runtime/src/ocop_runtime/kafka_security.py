"""Kafka principals and ACLs: who may write and read which topics.

- Each service has a SCRAM principal named after it. It may write only its own event topics,
  its replies and its dead-letter topic (and create those), and every topic starting with
  ``ocop.<service>.replies.`` (each agency's replies topic, made by ``ocop agency add``), and
  read only the topics it consumes (``ocop_contracts.topics.SUBSCRIPTIONS``) with consumer
  groups named ``ocop.<service>`` or starting with ``ocop.<service>.``.
- An agency (another government system) gets a principal ``agency-<name>`` that may read the
  public event topics with groups starting with ``agency.<name>.``; it writes a service's
  command topic only when granted explicitly (``ocop agency add NAME --commands registry``),
  and even then each command carries an access token whose roles decide what it may do. With
  the grant it gets its own replies topic of that service
  (``ocop.<service>.replies.<name>.v1``, created then) to read, never the shared replies
  topic nor another agency's; it can read no command topic and no dead letters.

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
from aiokafka.protocol.admin import CreateAclsRequest_v1, DeleteAclsRequest_v1
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
from ocop_runtime.kafka import KafkaAuth, admin_client, enforce_topic_configs, ensure_topics

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
    # A service may read back the compacted topics it writes (insights' live dashboards follow
    # the statistics topic).
    reads = (
        *topics.SUBSCRIPTIONS.get(service, ()),
        *(t for t in topics.COMPACTED_TOPICS if t in writes),
    )
    # Every agency's replies topic of the service (the operator creates them).
    answers = (
        [
            Binding(service, Resource.TOPIC, topics.replies_prefix(service), Pattern.PREFIXED, op)
            for op in (Operation.WRITE, Operation.DESCRIBE)
        ]
        if service in topics.COMMAND_SERVICES
        else []
    )
    return [
        *_topics(service, writes, Operation.WRITE, Operation.DESCRIBE, Operation.CREATE),
        *answers,
        *_topics(service, reads, Operation.READ, Operation.DESCRIBE),
        *_groups(service, f"ocop.{service}.", literal=f"ocop.{service}"),
        Binding(
            service, Resource.CLUSTER, "kafka-cluster", Pattern.LITERAL, Operation.IDEMPOTENT_WRITE
        ),
    ]


def agency_principal(name: str) -> str:
    return f"agency-{name}"


def _check_commands(commands: Iterable[str]) -> list[str]:
    granted = sorted(set(commands))
    unknown = sorted(set(granted) - set(topics.COMMAND_SERVICES))
    if unknown:
        raise KafkaSecurityError(
            f"no command topic for {', '.join(unknown)}; one of "
            + ", ".join(topics.COMMAND_SERVICES)
        )
    return granted


def agency_reply_topics(name: str, commands: Iterable[str] = ()) -> list[str]:
    """The agency's own replies topics: one per service whose commands it may send."""
    return [topics.agency_replies(s, name) for s in _check_commands(commands)]


def agency_bindings(name: str, commands: Iterable[str] = ()) -> list[Binding]:
    """An agency reads the public event topics; it writes the command topics of the services in
    ``commands`` only (an explicit grant; each command still carries an access token whose
    roles decide) and reads the answers to its commands on its own replies topic of each."""
    principal = agency_principal(name)
    granted = _check_commands(commands)
    writes = [topics.commands(s) for s in granted]
    return [
        *_topics(principal, topics.EVENT_TOPICS, Operation.READ, Operation.DESCRIBE),
        *_topics(principal, writes, Operation.WRITE, Operation.DESCRIBE),
        *_topics(principal, agency_reply_topics(name, granted), Operation.READ, Operation.DESCRIBE),
        *_groups(principal, f"agency.{name}."),
        Binding(
            principal,
            Resource.CLUSTER,
            "kafka-cluster",
            Pattern.LITERAL,
            Operation.IDEMPOTENT_WRITE,
        ),
    ]


def withdrawn_bindings(name: str, commands: Iterable[str] = ()) -> list[Binding]:
    """What an agency holds no grant for and may have held before: removed when it is
    (re)added, so running ``ocop agency add NAME`` without ``--commands`` takes an earlier
    grant back (the command topic's writes and the replies topic's reads), and an agency
    added before it had replies topics of its own loses the shared replies topics."""
    granted = set(commands)
    principal = agency_principal(name)
    ungranted = [s for s in topics.COMMAND_SERVICES if s not in granted]
    return [
        *_topics(principal, [topics.commands(s) for s in ungranted], Operation.WRITE),
        *_topics(principal, [topics.agency_replies(s, name) for s in ungranted], Operation.READ),
        *_topics(
            principal,
            [topics.replies(s) for s in topics.COMMAND_SERVICES],
            Operation.READ,
            Operation.DESCRIBE,
        ),
    ]


class _DeleteAcls(Request[DeleteAclsRequest_v1]):
    """Remove exactly these bindings (one filter each) in one DeleteAcls request."""

    API_KEY = 31

    def __init__(self, bindings: Sequence[Binding]) -> None:
        self.bindings = bindings

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class([b.wire() for b in self.bindings])


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


def prefixed_bindings(principal: str, prefix: str) -> list[Binding]:
    """Every topic operation under ``prefix``: for a test broker, where each test runs its
    services on topics of its own (``OCOP_TOPIC_PREFIX``); never on a production cluster."""
    return [
        Binding(principal, Resource.TOPIC, prefix, Pattern.PREFIXED, op)
        for op in (Operation.READ, Operation.WRITE, Operation.DESCRIBE, Operation.CREATE)
    ]


async def setup(
    bootstrap: str,
    auth: KafkaAuth | None = None,
    *,
    partitions: int = 3,
    test_topic_prefix: str | None = None,
) -> int:
    """Create every catalogue topic and the services' ACLs (idempotent); return the count.
    ``test_topic_prefix`` also lets every service use any topic under that prefix."""
    await ensure_topics(
        bootstrap, topics.all_topics(), partitions=partitions, replication_factor=1, auth=auth
    )
    # Topics created before (by a service, or an older setup) get the retention they must have.
    await enforce_topic_configs(bootstrap, topics.all_topics(), auth)
    bindings = [b for s in topics.SUBSCRIPTIONS for b in service_bindings(s)]
    if test_topic_prefix:
        bindings += [
            b for s in topics.SUBSCRIPTIONS for b in prefixed_bindings(s, test_topic_prefix)
        ]
    async with admin_client(bootstrap, auth) as admin:
        await create_acls(admin, bindings)
    return len(bindings)


async def delete_acls(admin: AIOKafkaAdminClient, bindings: Sequence[Binding]) -> None:
    if not bindings:
        return
    response = await admin._send_request(_DeleteAcls(bindings))
    failures = [
        f"{b}: {result[1] or result[0]}"
        for b, result in zip(bindings, response.filter_responses, strict=True)
        if result[0]
    ]
    if failures:
        raise KafkaSecurityError("ACLs not removed: " + "; ".join(failures[:5]))


async def add_agency(
    bootstrap: str,
    name: str,
    password: str,
    auth: KafkaAuth | None = None,
    *,
    commands: Iterable[str] = (),
    partitions: int = 3,
    replication_factor: int = 1,
) -> str:
    """Create (or reset) an agency's principal: it reads, and writes the command topics of the
    services in ``commands`` only (any other write it held is removed); its replies topic of
    each of those services is created and only it may read it."""
    principal = agency_principal(name)
    commands = tuple(commands)
    bindings = agency_bindings(name, commands)
    await ensure_topics(
        bootstrap,
        agency_reply_topics(name, commands),
        partitions=partitions,
        replication_factor=replication_factor,
        auth=auth,
    )
    async with admin_client(bootstrap, auth) as admin:
        await set_password(admin, principal, password)
        await delete_acls(admin, withdrawn_bindings(name, commands))
        await create_acls(admin, bindings)
    return principal


def main(argv: Sequence[str] = tuple(sys.argv[1:])) -> None:
    """``python -m ocop_runtime.kafka_security setup [BOOTSTRAP] [--test-topics PREFIX]``."""
    usage = "usage: python -m ocop_runtime.kafka_security setup [BOOTSTRAP] [--test-topics PREFIX]"
    args = list(argv)
    if not args or args.pop(0) != "setup":
        raise SystemExit(usage)
    test_prefix = None
    if "--test-topics" in args:
        at = args.index("--test-topics")
        if at + 1 >= len(args):
            raise SystemExit(usage)
        test_prefix = args[at + 1]
        del args[at : at + 2]
    bootstrap = (
        args[0] if args else os.environ.get("OCOP_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    count = asyncio.run(
        setup(
            bootstrap,
            partitions=int(os.environ.get("OCOP_TOPIC_PARTITIONS", "3")),
            test_topic_prefix=test_prefix,
        )
    )
    print(f"topics and {count} ACL bindings in place on {bootstrap}")


if __name__ == "__main__":
    main()
