"""Consuming events: the routing table, the inbox, bounded retries, dead letters and acks.

Every record goes through :meth:`EventConsumer.handle`, which never lets an exception escape
(FastStream's MANUAL policy would then move on without committing, and a later commit would skip
the record). Outcomes:

* not a valid ocop CloudEvent, unknown ``ce_type``/version, wrong topic, or a value that fails
  the contract: dead letter at once, then ack;
* a known type this service does not handle: ack (``ignored``);
* handled: one transaction inserts ``(consumer, event_id)`` into the inbox and applies the effect;
  an existing inbox row means a duplicate, which has no effect; then ack;
* the handler raises: retry with exponential backoff, up to ``handler_max_attempts``, then
  dead letter and ack;
* the database or the broker is unreachable: no ack, seek back, so the record is redelivered
  once the infrastructure is back (this is not the event's fault, so it never dead-letters).

The offset is committed (ack) only after the database commit or the dead-letter write.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
)
from faststream import AckPolicy
from faststream.kafka import KafkaRouter, Topic
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from pydantic import ValidationError

from ocop_contracts import Envelope, EnvelopeError, Event, UnknownEventType, event_class
from ocop_runtime.dlq import dead_letter_headers
from ocop_runtime.kafka import TopicNames
from ocop_runtime.refusals import Unprocessable
from ocop_runtime.telemetry import CurrentSpan, Metrics, context_from

log = logging.getLogger("ocop.consumer")
_tracer = trace.get_tracer("ocop.consumer")

E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a record came from, for handlers that need it."""

    envelope: Envelope
    topic: str  # the catalogue's name, without OCOP_TOPIC_PREFIX
    partition: int
    offset: int
    # The record's headers as they came (values may be None): what the sender attached beside
    # the CloudEvent, e.g. the credentials of a command.
    headers: tuple[tuple[str, bytes | None], ...] = ()

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


Handler = Callable[[asyncpg.Connection, Any, Delivery], Awaitable[None]]

# Failures of the infrastructure rather than of the event: redeliver, never dead-letter. They are
# classified by what they are: PostgreSQL connection (08), operator intervention such as a
# shutdown (57), insufficient resources such as a full disk or no memory (53), serialisation
# failures and deadlocks (40), system I/O errors (58) and a server turned read-only by a failover.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.PostgresSystemError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.InterfaceError,
    KafkaTimeoutError,
)


def is_infrastructure(exc: BaseException) -> bool:
    """True for a failure that says nothing about the record: it is redelivered, never
    dead-lettered. Kafka errors count when the client marks them retriable."""
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KafkaTimeoutError | KafkaConnectionError)
    return isinstance(exc, INFRASTRUCTURE_ERRORS)


class _Redeliver(Exception):
    """The record cannot be settled now (its dead letter could not be written): redeliver."""


H = TypeVar("H")


class RoutingTable(Generic[H]):
    """Which event types a consumer handles, with what handler ``H``, and the topics it reads."""

    def __init__(self) -> None:
        self._handlers: dict[str, H] = {}
        self._topics: set[str] = set()

    def on(self, event_type: type[E]) -> Callable[[H], H]:
        def register(handler: H) -> H:
            if event_type.CE_TYPE in self._handlers:
                raise ValueError(f"{event_type.CE_TYPE} already has a handler")
            self._handlers[event_type.CE_TYPE] = handler
            self._topics.add(event_type.TOPIC)
            return handler

        return register

    def listen(self, *topics: str) -> None:
        """Subscribe to topics whose events are not handled yet (they are acknowledged)."""
        self._topics.update(topics)

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    def handler_for(self, type_: str) -> H | None:
        return self._handlers.get(type_)


class EventRoutes(RoutingTable[Handler]):
    """A service's routing table: which event types it handles, and with what."""


class _DeadLettered(Exception):
    pass


class RecordRejected(Exception):
    """A record that can never be applied (not an ocop CloudEvent, unknown type, wrong topic,
    invalid value): it goes to the dead-letter topic with :attr:`reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_record(
    record: Any,
    headers: list[tuple[str, bytes]],
    names: TopicNames,
    handled: Callable[[str], object | None],
) -> tuple[Event, Delivery] | None:
    """Read one record into its contract event and where it came from; None for a known type
    that ``handled`` (a ``ce_type`` lookup) does not handle. Raises :class:`RecordRejected`
    with the reason for anything a consumer must dead-letter. Shared by the per-record
    consumer and :mod:`ocop_runtime.batching`, so both classify a record the same way."""
    try:
        envelope = Envelope.from_headers(headers)
        event_type = event_class(envelope.type)
        if names.logical(record.topic) != event_type.TOPIC:
            raise _DeadLettered(f"event type {envelope.type} does not belong on {record.topic}")
        if handled(envelope.type) is None:
            return None
        event = event_type.model_validate_json(record.value or b"")
    except (EnvelopeError, UnknownEventType, _DeadLettered) as exc:
        raise RecordRejected(str(exc)) from exc
    except ValidationError as exc:
        raise RecordRejected(
            f"invalid {envelope.type}: "
            + "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
                for err in exc.errors()
            )
        ) from exc
    except Exception as exc:
        # Whatever else a record's bytes can provoke while being read is still its fault.
        raise RecordRejected(f"unreadable record ({type(exc).__name__}: {exc})") from exc
    delivery = Delivery(
        envelope,
        names.logical(record.topic),
        record.partition,
        record.offset,
        headers=tuple(headers),
    )
    return event, delivery


async def keep_raw_headers(
    record: Any, original: Callable[[Any], Awaitable[KafkaMessage]]
) -> KafkaMessage:
    """FastStream's parser, fed headers it can always decode, and handing the record on as it
    came. Its own parser decodes every header value as UTF-8 and fails on a null or binary one
    before any handler runs, so such a record would be passed over without a trace; this way
    the envelope layer sees the raw headers and dead-letters the record with the reason."""
    readable = [
        (key, (value or b"").decode("utf-8", errors="replace").encode())
        for key, value in record.headers or ()
    ]
    clean = dataclasses.replace(record, headers=readable)
    if hasattr(record, "consumer"):
        clean.consumer = record.consumer
    message = await original(clean)
    message.raw_message = record
    return message


class EventConsumer:
    """Applies records to one service's schema through its :class:`EventRoutes`."""

    def __init__(
        self,
        routes: EventRoutes,
        *,
        consumer: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        dlq_topic: str,
        names: TopicNames | None = None,
        metrics: Metrics,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        backoff_max_seconds: float = 5.0,
        pause_after_commit_seconds: float = 0.0,
    ) -> None:
        self.routes = routes
        self.consumer = consumer
        self._pool = pool
        self._producer = producer
        self._names = names or TopicNames()
        self._dlq_topic = self._names.physical(dlq_topic)
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._pause_after_commit = pause_after_commit_seconds

    def router(self, group_id: str, *, description: str = "") -> KafkaRouter:
        """The FastStream router: one subscriber over the service's topics, acked by hand."""
        router = KafkaRouter()
        if not self.routes.topics:
            return router
        consumer = self

        async def on_record(msg: Any) -> None:
            await consumer.handle(msg)

        async def keep_bytes(msg: Any) -> Any:
            # FastStream would json-decode the body before the handler runs and fail on a
            # malformed one; the consumer validates it itself (to dead-letter it). The handler
            # gets the message itself as its body: asking for it as ``KafkaMessage`` (a
            # context field) made FastDepends resolve it in a worker thread, per record.
            return msg

        router.subscriber(
            # Topics are created by their writers with the configured partitions; FastStream
            # would otherwise create a missing one itself, with a single partition.
            *(Topic(self._names.physical(t), declare=False) for t in self.routes.topics),
            group_id=group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            parser=keep_raw_headers,
            decoder=keep_bytes,
            title=f"{self.consumer} consumer",
            description=description,
        )(on_record)
        return router

    async def handle(self, msg: Any) -> None:
        """Settle one record: applied, dead-lettered with a reason, or redelivered. Nothing
        escapes to FastStream, which would move on without a commit (a later commit skips it)."""
        record = msg.raw_message
        started = time.perf_counter()
        try:
            outcome = await self.apply(record)
        except Exception as exc:
            if is_infrastructure(exc) or isinstance(exc, _Redeliver):
                log.warning(
                    "%s: cannot apply %s[%s]@%s now (%s: %s); will redeliver",
                    self.consumer,
                    record.topic,
                    record.partition,
                    record.offset,
                    type(exc).__name__,
                    exc,
                )
            else:
                # A bug of ours, not the record's fault: keep it, say so loudly, try again.
                log.exception(
                    "%s: unexpected failure on %s[%s]@%s; will redeliver",
                    self.consumer,
                    record.topic,
                    record.partition,
                    record.offset,
                )
            self._metrics.messages.labels(self._names.logical(record.topic), "redelivered").inc()
            await asyncio.sleep(self._backoff_max)
            await msg.nack()
            return
        # Metrics name the catalogue's topic, the same whatever the deployment's prefix.
        topic = self._names.logical(record.topic)
        self._metrics.messages.labels(topic, outcome).inc()
        self._metrics.message_duration.labels(topic).observe(time.perf_counter() - started)
        if self._pause_after_commit:
            await asyncio.sleep(self._pause_after_commit)  # tests: a window to be killed in
        try:
            await msg.ack()
        except KafkaError as exc:
            # The effect is committed; a redelivery would hit the inbox. Nothing to undo.
            log.warning(
                "%s: offset commit failed (%s); a redelivery will be absorbed", self.consumer, exc
            )

    async def apply(self, record: Any) -> str:
        """Apply one record; return the outcome. Raises only for infrastructure failures."""
        headers = list(record.headers or [])
        try:
            read = read_record(record, headers, self._names, self.routes.handler_for)
        except RecordRejected as exc:
            await self.dead_letter(record, headers, exc.reason, attempts=0)
            return "dead_lettered"
        if read is None:
            return "ignored"
        event, delivery = read
        envelope = delivery.envelope
        handler = self.routes.handler_for(envelope.type)
        assert handler is not None  # read_record returns only handled types
        with CurrentSpan(
            _tracer.start_span(
                f"consume {record.topic}",
                context=context_from(envelope.traceparent, envelope.tracestate),
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": record.topic,
                    "messaging.message.id": envelope.id,
                    "messaging.consumer.group.name": self.consumer,
                    "ocop.event.type": envelope.type,
                },
            )
        ) as span:
            attempt = 0
            while True:
                attempt += 1
                try:
                    outcome = await self._apply_once(handler, event, delivery)
                    span.set_attribute("ocop.outcome", outcome)
                    return outcome
                except Unprocessable as exc:
                    span.record_exception(exc)
                    await self.dead_letter(record, headers, f"unprocessable: {exc}", attempt)
                    span.set_attribute("ocop.outcome", "dead_lettered")
                    return "dead_lettered"
                except Exception as exc:
                    if is_infrastructure(exc):
                        raise
                    span.record_exception(exc)
                    reason = f"{type(exc).__name__}: {exc}"
                    if attempt >= self._max_attempts:
                        await self.dead_letter(
                            record, headers, f"failed {attempt} times; last: {reason}", attempt
                        )
                        span.set_attribute("ocop.outcome", "dead_lettered")
                        return "dead_lettered"
                    self._metrics.handler_retries.labels(delivery.topic).inc()
                    delay = min(self._backoff * 2 ** (attempt - 1), self._backoff_max)
                    log.info(
                        "%s: attempt %d of %s failed (%s); retrying in %.2fs",
                        self.consumer,
                        attempt,
                        envelope.id,
                        reason,
                        delay,
                    )
                    await asyncio.sleep(delay)

    async def _apply_once(self, handler: Handler, event: Event, delivery: Delivery) -> str:
        async with self._pool.acquire() as conn, conn.transaction():
            # The sender is part of the key: another sender reusing an id is not a duplicate.
            inserted = await conn.fetchval(
                "INSERT INTO inbox (consumer, topic, source, event_id, ce_type, kafka_partition,"
                " kafka_offset) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT DO NOTHING RETURNING 1",
                self.consumer,
                delivery.topic,
                delivery.envelope.source,
                delivery.envelope.id,
                delivery.envelope.type,
                delivery.partition,
                delivery.offset,
            )
            if inserted is None:
                return "duplicate"
            await handler(conn, event, delivery)
            return "processed"

    async def dead_letter(
        self, record: Any, headers: list[tuple[str, bytes]], reason: str, attempts: int
    ) -> None:
        log.warning(
            "%s: dead-lettering %s[%s]@%s: %s",
            self.consumer,
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
        coordinates = {
            "consumer": self.consumer,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "attempts": attempts,
        }
        try:
            await self._producer.send_and_wait(
                self._dlq_topic,
                key=record.key,
                value=record.value,
                headers=dead_letter_headers(headers, reason=reason, **coordinates),
            )
        except MessageSizeTooLargeError:
            # The letter as it is would block the partition for good: keep the reason and where
            # it came from (enough to fetch the original), drop the value and its headers.
            reason = f"{reason} [value and headers left out: too large for the dead-letter topic]"
            await self._send_dead_letter(record.key, None, [], reason, coordinates)
        except KafkaError as exc:
            raise _Redeliver(f"dead letter not written: {type(exc).__name__}: {exc}") from exc
        envelope_id = _header(headers, "ce_id")
        envelope_type = _header(headers, "ce_type")
        try:
            await self._pool.execute(
                "INSERT INTO dead_letters (consumer, event_id, ce_type, topic, kafka_partition,"
                " kafka_offset, reason, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                self.consumer,
                envelope_id,
                envelope_type,
                record.topic,
                record.partition,
                record.offset,
                reason,
                attempts,
            )
        except INFRASTRUCTURE_ERRORS as exc:
            # The DLQ topic is the record of truth; the table is a convenience for operators.
            log.warning("%s: could not log the dead letter locally: %s", self.consumer, exc)

    async def _send_dead_letter(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        reason: str,
        coordinates: dict[str, Any],
    ) -> None:
        try:
            await self._producer.send_and_wait(
                self._dlq_topic,
                key=key,
                value=value,
                headers=dead_letter_headers(headers, reason=reason, **coordinates),
            )
        except KafkaError as exc:
            raise _Redeliver(f"dead letter not written: {type(exc).__name__}: {exc}") from exc


def _header(headers: Sequence[tuple[str, bytes | None]], name: str) -> str | None:
    return next(((v or b"").decode(errors="replace")[:200] for k, v in headers if k == name), None)
