"""Benchmark: how long an event on a public topic takes to show in insights' statistics, through
the running service (in process, real broker and database): from the send of a
``ProductCertified`` until ``GET /statistics/products.by_star`` counts it, and until the
snapshot of ``products.by_star.city`` that counts it is published (what the dashboard and the
statistics topic get; coalesced to one per second per key). The issue's bound is 2 seconds.

``OCOP_BENCH_INSIGHTS_SAMPLES`` (default 20) events, one after another.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from bench.common import InProcess, bench_settings, quiet_faststream, report
from ocop_contracts import Envelope, Event
from ocop_contracts.events import evaluation as ev
from ocop_contracts.events import registry as reg
from ocop_insights.app import create_app
from ocop_insights.settings import InsightsSettings
from ocop_runtime.kafka import DEV_ADMIN_PASSWORD, KafkaAuth, TopicNames

SAMPLES = int(os.environ.get("OCOP_BENCH_INSIGHTS_SAMPLES", "20"))


def _product() -> reg.ProductRegistered:
    now = datetime.now(UTC)
    return reg.ProductRegistered(
        product_id=uuid4(),
        producer_id=uuid4(),
        producer_legal_form=reg.LegalForm.COOPERATIVE,
        name="Chè",
        public_code="01-00004-0001-2024",
        lookup_url="https://ocop.example/p/01-00004-0001-2024",
        classification="148",
        product_set="food.tea",
        sector="food",
        statistics_sector="food",
        commune_code="00004",
        registered_on=now.date() - timedelta(days=100),
        registered_at=now,
    )


def _certified(product_id: object) -> ev.ProductCertified:
    decided = date.today() - timedelta(days=30)
    return ev.ProductCertified(
        certificate_id=uuid4(),
        certificate_number="1/2025",
        product_id=product_id,
        star=4,
        level=ev.Level.CITY,
        decision_number="1/QĐ-UBND",
        decision_date=decided,
        valid_from=decided,
        valid_until=decided + timedelta(days=3 * 365),
        rulebook="148",
        issued_at=datetime.now(UTC),
    )


async def _send(producer: AIOKafkaProducer, names: TopicNames, event: Event) -> None:
    headers = Envelope(
        id=str(uuid4()),
        type=event.CE_TYPE,
        source=f"/ocop/{event.SERVICE}",
        time=datetime.now(UTC),
        subject=event.key(),
    ).to_headers()
    await producer.send_and_wait(
        names.physical(event.TOPIC),
        key=event.key().encode(),
        value=event.to_json(),
        headers=headers,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure() -> None:
    run = uuid4().hex[:8]
    names = TopicNames(f"bench.latency.{run}.")
    settings = bench_settings(InsightsSettings).model_copy(
        update={
            "topic_prefix": names.prefix,
            "kafka_sasl_username": "admin",
            "kafka_sasl_password": SecretStr(DEV_ADMIN_PASSWORD),
        }
    )
    app = create_app(settings)
    auth = KafkaAuth(username="admin", password=DEV_ADMIN_PASSWORD)
    async with app.router.lifespan_context(app):
        client = InProcess(app)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", **auth.options()
        )
        await producer.start()
        to_http: list[float] = []
        to_snapshot: list[float] = []
        try:
            async with app.state.broadcast.listen() as snapshots:
                for i in range(SAMPLES):
                    product = _product()
                    await _send(producer, names, product)
                    started = time.perf_counter()
                    await _send(producer, names, _certified(product.product_id))
                    seen_http = seen_snapshot = None
                    while seen_http is None or seen_snapshot is None:
                        if seen_http is None:
                            answer = await client.get("/statistics/products.by_star")
                            if answer.json()["totals"]["products"] == i + 1:
                                seen_http = time.perf_counter() - started
                        while not snapshots.empty():
                            snap = snapshots.get_nowait()
                            if (
                                snap.statistic == "products.by_star"
                                and snap.totals.get("products") == i + 1
                            ):
                                seen_snapshot = time.perf_counter() - started
                        if time.perf_counter() - started > 30:
                            raise SystemExit(f"event {i} not seen in 30 s")
                        await asyncio.sleep(0.005)
                    to_http.append(seen_http * 1000)
                    to_snapshot.append(seen_snapshot * 1000)
        finally:
            await producer.stop()
    print(
        f"insights latency over {SAMPLES} events: HTTP p50 {statistics.median(to_http):.0f} ms,"
        f" p99 {_pct(to_http, 0.99):.0f} ms; snapshot p50 {statistics.median(to_snapshot):.0f}"
        f" ms, p99 {_pct(to_snapshot, 0.99):.0f} ms"
    )
    sizes = {"samples": SAMPLES, "publish_seconds": settings.publish_seconds}
    report(
        "insights: event -> GET /statistics, p50",
        "ms",
        ocop=statistics.median(to_http),
        raw=None,
        sizes=sizes,
        limit=2000,
    )
    report(
        "insights: event -> GET /statistics, p99",
        "ms",
        ocop=_pct(to_http, 0.99),
        raw=None,
        sizes=sizes,
        limit=2000,
    )
    report(
        "insights: event -> published snapshot, p99",
        "ms",
        ocop=_pct(to_snapshot, 0.99),
        raw=None,
        sizes=sizes,
        limit=2000,
    )


def main() -> None:
    quiet_faststream()
    asyncio.run(measure())


if __name__ == "__main__":
    main()
