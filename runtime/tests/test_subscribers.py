"""The FastStream subscribers of both consumers hand the record to the consumer as it came, on
the event loop: no argument resolved in a worker thread per record (FastDepends resolves a
context field such as ``KafkaMessage`` with ``run_in_threadpool``). In-memory broker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import fast_depends.utils
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber

from ocop_contracts import Envelope
from ocop_contracts.events import ProducerRegistered
from ocop_runtime.batching import BatchConsumer, BatchRoutes
from ocop_runtime.consumer import EventConsumer, EventRoutes
from ocop_runtime.kafka import TopicNames
from ocop_runtime.telemetry import Metrics
from ocop_runtime.testing import producer_registered


async def _nothing(*_: Any) -> None:
    raise AssertionError("the consumer's handle is replaced in these tests")


def _consumers() -> list[Any]:
    routes = EventRoutes()
    routes.on(ProducerRegistered)(_nothing)
    batches = BatchRoutes()
    batches.on(ProducerRegistered)(_nothing)
    common: dict[str, Any] = {"pool": None, "producer": None, "dlq_topic": "unused"}
    return [
        EventConsumer(routes, consumer="per-record", metrics=Metrics("subscribers"), **common),
        BatchConsumer(batches, consumer="batched", metrics=Metrics("subscribers-b"), **common),
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["per-record", "batched"])
async def test_the_subscriber_hands_over_the_record_without_a_worker_thread(
    which: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = _consumers()[which]
    received: list[Any] = []

    async def handle(msg: Any) -> None:
        received.append(msg)

    consumer.handle = handle
    threaded: list[Any] = []
    original = fast_depends.utils.run_in_threadpool

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        threaded.append(func)
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fast_depends.utils, "run_in_threadpool", counting)
    broker = KafkaBroker()
    broker.include_router(consumer.router("group"))
    event = producer_registered()
    envelope = Envelope(
        id="ce-1", type=event.CE_TYPE, source="/tests", time=datetime.now(UTC), subject=event.key()
    )
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            event.to_json(),
            TopicNames().physical(event.TOPIC),
            key=event.key().encode(),
            headers={k: v.decode() for k, v in envelope.to_headers()},
        )
    assert len(received) == 1
    raw = received[0].raw_message
    record = raw[0] if isinstance(raw, tuple | list) else raw
    assert record.value == event.to_json()
    assert threaded == []


class _Fetches:
    """An aiokafka consumer's ``getmany`` as the subscriber sees it: what each call returns."""

    def __init__(self, *results: dict[str, list[str]]) -> None:
        self.results = list(results)
        self.calls: list[dict[str, Any]] = []

    async def getmany(self, **options: Any) -> dict[str, list[str]]:
        self.calls.append(options)
        return self.results.pop(0)


async def test_the_batch_subscriber_asks_again_at_once_after_an_empty_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FastStream's batch subscriber sleeps ``batch_timeout_ms`` after an empty fetch, so a
    record arriving then waited for it; the batch consumer's subscriber hands the empty fetch
    back at once (``getmany`` already waited) and takes records as they come."""
    slept: list[Any] = []

    async def sleep(*args: Any) -> None:
        slept.append(args)

    monkeypatch.setattr(anyio, "sleep", sleep)
    routes = BatchRoutes(max_records=7, timeout_ms=300)
    routes.on(ProducerRegistered)(_nothing)
    consumer = BatchConsumer(
        routes,
        consumer="batched",
        metrics=Metrics("subscribers-c"),
        pool=None,
        producer=None,
        dlq_topic="unused",
    )
    (subscriber,) = consumer.router("group").subscribers
    assert isinstance(subscriber, BatchSubscriber)
    fetches = _Fetches({}, {"p0": ["a", "b"], "p1": ["c"]})
    assert await subscriber.get_msg(fetches) == ()
    assert await subscriber.get_msg(fetches) == ("a", "b", "c")
    assert fetches.calls == [{"timeout_ms": 300, "max_records": 7}] * 2
    assert slept == []
