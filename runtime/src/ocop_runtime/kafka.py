"""Kafka connections and administration shared by the services and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from ocop_contracts import topics

log = logging.getLogger("ocop.kafka")

DEV_ADMIN_PASSWORD = "ocop-dev-kafka-admin"


@dataclass(frozen=True)
class KafkaAuth:
    """How a client authenticates: SASL/SCRAM-SHA-512 by default (the local broker requires
    it), over TLS with ``SASL_SSL`` and a CA file."""

    security_protocol: str = "SASL_PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None

    def options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol.startswith("SASL"):
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        if self.security_protocol.endswith("SSL"):
            options["ssl_context"] = create_ssl_context(cafile=self.cafile)
        return options

    @classmethod
    def admin_from_environment(cls) -> KafkaAuth:
        """The operator's credentials (CLI, set-up, tests): ``OCOP_KAFKA_SECURITY_PROTOCOL``,
        ``OCOP_KAFKA_ADMIN_USERNAME``, ``OCOP_KAFKA_ADMIN_PASSWORD``, ``OCOP_KAFKA_SSL_CAFILE``."""
        return cls(
            security_protocol=os.environ.get("OCOP_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            username=os.environ.get("OCOP_KAFKA_ADMIN_USERNAME", "admin"),
            password=os.environ.get("OCOP_KAFKA_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD),
            cafile=os.environ.get("OCOP_KAFKA_SSL_CAFILE") or None,
        )


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Topic names on the wire: the catalogue's names (which records, rows and inboxes keep)
    behind an optional prefix (``OCOP_TOPIC_PREFIX``)."""

    prefix: str = ""

    def physical(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def logical(self, name: str) -> str:
        return name.removeprefix(self.prefix)


def client_options(auth: KafkaAuth | None) -> dict[str, Any]:
    return (auth or KafkaAuth.admin_from_environment()).options()


async def start_client(client: Any) -> None:
    """Start an aiokafka consumer, producer or admin client; when starting fails, close it
    before raising. A client whose start failed (no broker, refused credentials) still holds
    its connections and tasks, and asyncio reports it unclosed when it is collected."""
    try:
        await client.start()
    except BaseException:
        close = getattr(client, "stop", None) or client.close
        with contextlib.suppress(Exception):
            await close()
        raise


@contextlib.asynccontextmanager
async def admin_client(
    bootstrap_servers: str, auth: KafkaAuth | None = None
) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **client_options(auth)
    )
    await start_client(admin)
    try:
        yield admin
    finally:
        await admin.close()


# Commands may carry personal data (a producer's contact persons) and dead letters may be such
# commands: those topics keep records three days (time to read, answer and replay), so data a
# person had erased is gone from Kafka within three days; event topics carry none and keep the
# broker's default.
SHORT_RETENTION_MS = 3 * 24 * 3600 * 1000
_SHORT_LIVED = (".commands.v1", ".dlq.v1")


def topic_config(name: str) -> dict[str, str]:
    """The topic-level configuration a topic is created with (and set to by the operator's
    ``kafka_security setup``)."""
    if name.endswith(_SHORT_LIVED):
        return {"retention.ms": str(SHORT_RETENTION_MS)}
    if name.endswith(topics.COMPACTED_TOPICS):
        return {"cleanup.policy": "compact"}
    return {}


async def enforce_topic_configs(
    bootstrap_servers: str, topics: Iterable[str], auth: KafkaAuth | None = None
) -> None:
    """Set :func:`topic_config` on existing topics (needs the operator's ALTER_CONFIGS)."""
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, t, configs=topic_config(t))
        for t in topics
        if topic_config(t)
    ]
    if not resources:
        return
    async with admin_client(bootstrap_servers, auth) as admin:
        for response in await admin.alter_configs(resources):
            failed = [r for r in response.resources if r[0]]
            if failed:
                raise RuntimeError(f"topic configuration refused: {failed[:3]}")


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int,
    auth: KafkaAuth | None = None,
) -> list[str]:
    """Create the topics that are missing; return the names created. Safe to run concurrently."""
    async with admin_client(bootstrap_servers, auth) as admin:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        created = []
        for topic in missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            topic,
                            num_partitions=partitions,
                            replication_factor=replication_factor,
                            topic_configs=topic_config(topic),
                        )
                    ]
                )
                created.append(topic)
            except TopicAlreadyExistsError:
                pass  # another service created it first
    if created:
        log.info("created topics: %s", ", ".join(created))
    return created


async def consumer_lag(
    bootstrap_servers: str, group_id: str, auth: KafkaAuth | None = None
) -> dict[str, int]:
    """Records not yet committed by ``group_id``, per topic (over the partitions it committed)."""
    async with admin_client(bootstrap_servers, auth) as admin:
        committed = await admin.list_consumer_group_offsets(group_id)
    if not committed:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, **client_options(auth)
    )
    await start_client(consumer)
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    lag: dict[str, int] = {}
    for tp, meta in committed.items():
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends.get(tp, 0) - max(meta.offset, 0))
    return lag


class IncompleteRead(RuntimeError):
    """Reading a topic to its end offsets did not get there in time."""


async def read_all(
    bootstrap_servers: str,
    topic: str,
    *,
    wait_seconds: float = 10.0,
    auth: KafkaAuth | None = None,
) -> list[tuple[TopicPartition, Any]]:
    """Every record currently on ``topic`` (no consumer group), oldest first per partition: up
    to the end offsets taken when the read starts, or :class:`IncompleteRead`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, **client_options(auth)
    )
    await start_client(consumer)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[TopicPartition, Any]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        for tp in list(remaining):
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while remaining and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, records in batch.items():
                out.extend((tp, r) for r in records)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        if remaining:
            # A partial read reported as the whole topic would make "nothing there" a lie.
            positions = {tp: await consumer.position(tp) for tp in sorted(remaining)}
            behind = ", ".join(
                f"partition {tp.partition} at {at} of {ends[tp]}" for tp, at in positions.items()
            )
            raise IncompleteRead(
                f"{topic}: could not read to the end in {wait_seconds:.0f} s ({behind})"
            )
        return out
    finally:
        await consumer.stop()
