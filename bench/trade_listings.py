"""Benchmark: a year of points of sale and listings when certificates expire at once, against a
raw aiokafka + asyncpg consumer doing the same updates, same run.

Set-up: the trade service runs in-process (``create_app`` + ``running``: pool, migrations,
consumer, outbox relay) on the bench stack. Its schema is seeded by SQL with OUTLETS points of
sale and PRODUCTS certified products, each listed at LISTED_AT outlets (PRODUCTS x LISTED_AT
OCOP listings: 3,000 by default); the raw side gets the same rows in tables of its own, created
by its own SQL. Before anything is sent the service's consumer group is moved to the end of its
topics, so it does not replay what earlier benchmarks published.

1. Expiry: PRODUCTS ``CertificateExpired`` events are published at once on
   ``ocop.evaluation.certificates.v1``; the service's time runs from the first send until every
   listing is suspended in its schema. 2. Renewal: PRODUCTS ``ProductCertified`` events (new
   certificates), until every listing is back on sale. Once the service has stopped, the raw
   baseline gets the same records again (fresh ids), sent the same way while an aiokafka
   consumer reads them live and applies each in one transaction of its own: inbox row, the
   certificate's state, the product's listings updated with one ``UPDATE ... RETURNING``, one
   outbox row per listing changed with one ``executemany`` (its own event JSON): the service's
   work per record, in its own code; timed from the first send until the last is applied.
   (The service applies the certificate topic in batches; the baseline stays per record, the
   simplest correct consumer.)
3. Latency: SAMPLES ``CertificateRevoked`` events one at a time, each timed from the send until
   the product's listings read suspended (polled every millisecond); p50 and p99. The raw
   consumer is timed the same way on other products once the service has stopped, so the two
   never share the machine.

Both sides must agree before anything is reported: the same listings suspended (with the same
reason) after 1, restored after 2, and the same number of outbox rows staged per burst.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import bench_settings, quiet_faststream, report, skip_app_history
from ocop_contracts import Envelope, Event, topics
from ocop_contracts.events import (
    CertificateExpired,
    CertificateRevoked,
    ProductCertified,
    RevocationGround,
)
from ocop_contracts.events.evaluation import Level
from ocop_runtime.db import create_pool
from ocop_runtime.kafka import client_options
from ocop_runtime.testing import running, wait_until
from ocop_trade.app import create_app
from ocop_trade.settings import TradeSettings

OUTLETS = int(os.environ.get("OCOP_BENCH_TRADE_OUTLETS", "60"))
PRODUCTS = int(os.environ.get("OCOP_BENCH_TRADE_PRODUCTS", "300"))
LISTED_AT = min(int(os.environ.get("OCOP_BENCH_TRADE_LISTED_AT", "10")), OUTLETS)
SAMPLES = int(os.environ.get("OCOP_BENCH_TRADE_SAMPLES", "100"))
TOPIC = topics.EVALUATION_CERTIFICATES
EXPIRED_ON = date(2025, 12, 1)
SIZES = {"outlets": OUTLETS, "products": PRODUCTS, "listings": PRODUCTS * LISTED_AT}

# ---------------------------------------------------------------- the raw side's own SQL

RAW_TABLES = """
CREATE TABLE raw_certificates (certificate_id uuid PRIMARY KEY, product_id uuid NOT NULL,
    star int NOT NULL, valid_from date NOT NULL, valid_until date NOT NULL, state text NOT NULL,
    ended_on date);
CREATE INDEX ON raw_certificates (product_id);
CREATE TABLE raw_listings (id uuid PRIMARY KEY, outlet_id uuid NOT NULL, product_id uuid,
    basis text NOT NULL, star int, certificate_id uuid, status text NOT NULL,
    suspended_on date, suspension_reason text, updated_at timestamptz NOT NULL);
CREATE INDEX ON raw_listings (product_id);
CREATE TABLE raw_inbox (event_id text PRIMARY KEY);
CREATE TABLE raw_outbox (id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL,
    ce_type text NOT NULL, payload jsonb NOT NULL);
"""
RAW_SUSPEND = """
UPDATE raw_listings l SET status = 'suspended', suspended_on = $2, suspension_reason = $3,
    updated_at = now()
WHERE l.product_id = $1 AND l.basis = 'ocop' AND l.status = 'live'
  AND NOT EXISTS (SELECT 1 FROM raw_certificates c WHERE c.product_id = $1 AND c.state = 'live')
RETURNING l.id, l.outlet_id, l.certificate_id
"""
RAW_RESTORE = """
UPDATE raw_listings l SET status = 'live', star = $3, certificate_id = $2, suspended_on = NULL,
    suspension_reason = NULL, updated_at = now()
WHERE l.product_id = $1 AND l.basis = 'ocop' AND l.status = 'suspended'
RETURNING l.id, l.outlet_id
"""
RAW_OUTBOX = "INSERT INTO raw_outbox (topic, key, ce_type, payload) VALUES ($1, $2, $3, $4::jsonb)"


async def raw_apply(conn: asyncpg.Connection, record: Any) -> int:
    """One certificate record as the raw consumer applies it: inbox, certificate, listings,
    outbox, in one transaction. Returns the outbox rows staged."""
    headers = {k: (v or b"").decode() for k, v in record.headers}
    body = json.loads(record.value)
    kind = headers["ce_type"].split(".")[-2]
    now = datetime.now(UTC).isoformat()
    async with conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO raw_inbox VALUES ($1) ON CONFLICT DO NOTHING RETURNING true",
            headers["ce_id"],
        )
        if not fresh:
            return 0
        product, certificate = body["product_id"], body["certificate_id"]
        if kind == "ProductCertified":
            await conn.execute(
                "INSERT INTO raw_certificates VALUES ($1, $2, $3, $4, $5, 'live', NULL)",
                UUID(certificate),
                UUID(product),
                body["star"],
                date.fromisoformat(body["valid_from"]),
                date.fromisoformat(body["valid_until"]),
            )
            rows = await conn.fetch(RAW_RESTORE, UUID(product), UUID(certificate), body["star"])
            name = "ListingRestored"
            payloads = [
                {
                    "listing_id": str(r["id"]),
                    "outlet_id": str(r["outlet_id"]),
                    "product_id": product,
                    "certificate_id": certificate,
                    "star": body["star"],
                    "restored_at": now,
                }
                for r in rows
            ]
        else:
            state, on, reason = (
                ("expired", body["expired_on"], "certificate_expired")
                if kind == "CertificateExpired"
                else ("revoked", body["revoked_on"], "certificate_revoked")
            )
            await conn.execute(
                "UPDATE raw_certificates SET state = $2, ended_on = $3 WHERE certificate_id = $1",
                UUID(certificate),
                state,
                date.fromisoformat(on),
            )
            rows = await conn.fetch(RAW_SUSPEND, UUID(product), date.fromisoformat(on), reason)
            name = "ListingSuspended"
            payloads = [
                {
                    "listing_id": str(r["id"]),
                    "outlet_id": str(r["outlet_id"]),
                    "product_id": product,
                    "reason": reason,
                    "certificate_id": certificate,
                    "suspended_on": on,
                    "suspended_at": now,
                }
                for r in rows
            ]
        await conn.executemany(
            RAW_OUTBOX,
            [
                (
                    topics.TRADE_LISTINGS,
                    p["outlet_id"],
                    f"vn.hanoi.ocop.trade.{name}.v1",
                    json.dumps(p),
                )
                for p in payloads
            ],
        )
        return len(payloads)


class RawConsumer:
    """aiokafka reading the certificates topic from given offsets, asyncpg applying."""

    def __init__(self, bootstrap: str, auth_options: dict[str, Any], pool: asyncpg.Pool) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, **auth_options
        )
        self.pool = pool
        self.staged = 0

    async def start(self, offsets: dict[TopicPartition, int]) -> None:
        await self.consumer.start()
        self.consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            self.consumer.seek(tp, offset)

    async def apply(self, count: int) -> None:
        """Apply the next ``count`` records."""
        async with self.pool.acquire() as conn:
            done = 0
            while done < count:
                batch = await self.consumer.getmany(timeout_ms=200, max_records=500)
                for records in batch.values():
                    for record in records:
                        self.staged += await raw_apply(conn, record)
                        done += 1

    async def stop(self) -> None:
        await self.consumer.stop()


# ---------------------------------------------------------------- set-up and sending


def _headers(event: Event) -> list[tuple[str, bytes]]:
    return Envelope(
        id=str(uuid4()),
        type=event.CE_TYPE,
        source="/bench/evaluation",
        time=datetime.now(UTC),
        subject=event.key(),
    ).to_headers()


async def send(producer: AIOKafkaProducer, events: Sequence[Event]) -> None:
    futures = [
        await producer.send(TOPIC, key=e.key().encode(), value=e.to_json(), headers=_headers(e))
        for e in events
    ]
    await asyncio.gather(*futures)


async def consumer_reading(producer: AIOKafkaProducer, pool: asyncpg.Pool) -> None:
    """Before any clock starts: the service's consumer has joined its group (which can take
    seconds) and applies records; one certificate of a product outside the measurement shows
    it. The raw consumer is assigned its partitions directly and has no such wait."""
    product, certificate = uuid4(), uuid4()
    await send(producer, renewals([product], {product: certificate}))

    async def applied() -> bool:
        found = await pool.fetchval(
            "SELECT 1 FROM certificates WHERE certificate_id = $1", certificate
        )
        return found is not None

    await wait_until(applied, timeout_seconds=120, what="the trade consumer's first record")


async def end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    await consumer._client.force_metadata_update()
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    return dict(await consumer.end_offsets(partitions))


class Seed:
    """The outlets, certificates and listings both sides start from."""

    def __init__(self) -> None:
        self.outlets = [uuid4() for _ in range(OUTLETS)]
        self.products = [uuid4() for _ in range(PRODUCTS + 2 * SAMPLES)]
        self.certificates = {p: uuid4() for p in self.products}
        step = max(1, OUTLETS // LISTED_AT)
        self.listings = [
            (uuid4(), self.outlets[(i + k * step) % OUTLETS], p)
            for i, p in enumerate(self.products)
            for k in range(LISTED_AT)
        ]

    async def into_service(self, pool: asyncpg.Pool) -> None:
        now = datetime.now(UTC)
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO outlets (id, name, operator, location_type, unit_code, opened_on,"
                " created_at) VALUES ($1, $2, 'Sở Công Thương', 'mall_market', '00004', $3, $4)",
                [(o, f"Điểm OCOP {i}", date(2023, 1, 1), now) for i, o in enumerate(self.outlets)],
            )
            await conn.executemany(
                "INSERT INTO certificates (certificate_id, product_id, star, valid_from,"
                " valid_until, state) VALUES ($1, $2, 4, $3, $4, 'live')",
                [
                    (c, p, date(2022, 12, 1), EXPIRED_ON - timedelta(days=1))
                    for p, c in self.certificates.items()
                ],
            )
            await conn.executemany(
                "INSERT INTO listings (id, outlet_id, basis, goods_name, product_id, star,"
                " certificate_id, status, listed_on, updated_at)"
                " VALUES ($1, $2, 'ocop', 'Sản phẩm OCOP', $3, 4, $4, 'live', $5, $6)",
                [
                    (x, o, p, self.certificates[p], date(2023, 2, 1), now)
                    for x, o, p in self.listings
                ],
            )

    async def into_raw(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(RAW_TABLES)
            await conn.executemany(
                "INSERT INTO raw_certificates VALUES ($1, $2, 4, $3, $4, 'live', NULL)",
                [
                    (c, p, date(2022, 12, 1), EXPIRED_ON - timedelta(days=1))
                    for p, c in self.certificates.items()
                ],
            )
            await conn.executemany(
                "INSERT INTO raw_listings (id, outlet_id, product_id, basis, star,"
                " certificate_id, status, updated_at) VALUES ($1, $2, $3, 'ocop', 4, $4, 'live', now())",
                [(x, o, p, self.certificates[p]) for x, o, p in self.listings],
            )


def expiries(products: Sequence[UUID], seed: Seed) -> list[Event]:
    return [
        CertificateExpired(certificate_id=seed.certificates[p], product_id=p, expired_on=EXPIRED_ON)
        for p in products
    ]


def renewals(products: Sequence[UUID], renewed: dict[UUID, UUID]) -> list[Event]:
    return [
        ProductCertified(
            certificate_id=renewed[p],
            certificate_number=f"2025/{i:05d}",
            product_id=p,
            star=4,
            level=Level.CITY,
            decision_number="1500/QĐ-UBND",
            decision_date=EXPIRED_ON,
            valid_from=EXPIRED_ON,
            valid_until=EXPIRED_ON + timedelta(days=3 * 365 - 1),
            rulebook="1489",
            issued_at=datetime.now(UTC),
        )
        for i, p in enumerate(products)
    ]


def revocation(product: UUID, certificate: UUID) -> CertificateRevoked:
    return CertificateRevoked(
        certificate_id=certificate,
        product_id=product,
        grounds=[RevocationGround.FOOD_SAFETY_BREACH],
        decision_number="9/QĐ-UBND",
        decision_date=EXPIRED_ON,
        revoked_on=EXPIRED_ON,
    )


# ---------------------------------------------------------------- measuring


async def state(
    pool: asyncpg.Pool, table: str, products: Sequence[UUID]
) -> dict[UUID, tuple[str, str | None]]:
    rows = await pool.fetch(
        f"SELECT id, status, suspension_reason FROM {table} WHERE product_id = ANY($1::uuid[])",
        list(products),
    )
    return {r["id"]: (r["status"], r["suspension_reason"]) for r in rows}


async def until_all(pool: asyncpg.Pool, table: str, products: Sequence[UUID], status: str) -> None:
    expected = len(products) * LISTED_AT

    async def done() -> bool:
        n = await pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE product_id = ANY($1::uuid[]) AND status = $2",
            list(products),
            status,
        )
        return bool(n == expected)

    await wait_until(
        done, timeout_seconds=600, interval=0.005, what=f"{expected} listings {status}"
    )


async def latency(pool: asyncpg.Pool, table: str, product: UUID, sent: float) -> float:
    while True:
        n = await pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE product_id = $1 AND status = 'suspended'", product
        )
        if n == LISTED_AT:
            return (time.perf_counter() - sent) * 1000
        if time.perf_counter() - sent > 60:
            raise AssertionError(f"listings of {product} not suspended after 60 s")
        await asyncio.sleep(0.001)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def main() -> int:
    quiet_faststream()
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    bootstrap = os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"]
    unique = uuid4().hex[:8]
    settings = bench_settings(TradeSettings, unique)
    # The bench plays evaluation (its topic), so it sends, and the raw side reads, as the operator.
    auth = client_options(None)
    seed = Seed()
    burst = seed.products[:PRODUCTS]
    ocop_samples = seed.products[PRODUCTS : PRODUCTS + SAMPLES]
    raw_samples = seed.products[PRODUCTS + SAMPLES :]
    renewed = {p: uuid4() for p in burst}
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **auth)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **auth)
    await probe.start()
    await producer.start()
    # Trade does not replay what the benchmarks before this one published.
    app = create_app(settings)
    await skip_app_history(app, settings)
    raw_pool = await create_pool(database_url, f"trade_raw_{unique}", min_size=1, max_size=2)
    await raw_pool.execute(f"CREATE SCHEMA trade_raw_{unique}")
    app_pool = await create_pool(database_url, settings.db_schema, min_size=1, max_size=2)
    timings: dict[str, float] = {}
    raw_staged: dict[str, int] = {}
    raw_after: dict[str, dict[UUID, tuple[str, str | None]]] = {}
    try:
        async with running(app):
            await seed.into_service(app_pool)
            await consumer_reading(producer, app_pool)
            outbox_mark = await app_pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
            started = time.perf_counter()
            await send(producer, expiries(burst, seed))
            await until_all(app_pool, "listings", burst, "suspended")
            timings["ocop_expiry"] = time.perf_counter() - started
            staged_expiry = await app_pool.fetchval(
                "SELECT count(*) FROM outbox WHERE id > $1", outbox_mark
            )
            after_expiry = await state(app_pool, "listings", burst)
            outbox_mark = await app_pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
            started = time.perf_counter()
            await send(producer, renewals(burst, renewed))
            await until_all(app_pool, "listings", burst, "live")
            timings["ocop_renewal"] = time.perf_counter() - started
            staged_renewal = await app_pool.fetchval(
                "SELECT count(*) FROM outbox WHERE id > $1", outbox_mark
            )
            after_renewal = await state(app_pool, "listings", burst)
            ocop_latencies = []
            for p in ocop_samples:
                sent = time.perf_counter()
                await send(producer, [revocation(p, seed.certificates[p])])
                ocop_latencies.append(await latency(app_pool, "listings", p, sent))

        await seed.into_raw(raw_pool)
        for name, events in (
            ("expiry", expiries(burst, seed)),
            ("renewal", renewals(burst, renewed)),
        ):
            # The same records again (fresh ids), sent and consumed live as the service's were.
            raw = RawConsumer(bootstrap, auth, raw_pool)
            await raw.start(await end_offsets(probe, TOPIC))
            began = time.perf_counter()
            await asyncio.gather(send(producer, events), raw.apply(PRODUCTS))
            timings[f"raw_{name}"] = time.perf_counter() - began
            await raw.stop()
            raw_staged[name] = raw.staged
            raw_after[name] = await state(raw_pool, "raw_listings", burst)
        # The raw consumer for the latency samples: from the end, applying as records come.
        live = RawConsumer(bootstrap, auth, raw_pool)
        await live.start(await end_offsets(probe, TOPIC))
        raw_latencies = []
        for p in raw_samples:
            applying = asyncio.create_task(live.apply(1))
            sent = time.perf_counter()
            await send(producer, [revocation(p, seed.certificates[p])])
            raw_latencies.append(await latency(raw_pool, "raw_listings", p, sent))
            await applying
        await live.stop()
    finally:
        await producer.stop()
        await probe.stop()
        await app_pool.close()
        await raw_pool.close()

    # Same work on both sides, or nothing is reported.
    assert after_expiry == raw_after["expiry"], "the two sides suspended different listings"
    assert all(v == ("suspended", "certificate_expired") for v in after_expiry.values())
    assert len(after_expiry) == PRODUCTS * LISTED_AT
    assert after_renewal == raw_after["renewal"], "the two sides restored different listings"
    assert all(v == ("live", None) for v in after_renewal.values())
    staged = {"expiry": staged_expiry, "renewal": staged_renewal}
    assert staged == raw_staged, (staged, raw_staged)
    print(
        f"trade: {PRODUCTS} certificates, {PRODUCTS * LISTED_AT} listings at {OUTLETS} outlets;"
        f" expiry {timings['ocop_expiry']:.2f} s (raw {timings['raw_expiry']:.2f} s),"
        f" renewal {timings['ocop_renewal']:.2f} s (raw {timings['raw_renewal']:.2f} s)"
    )
    report(
        f"trade: {PRODUCTS} certificates expire, listings suspended",
        "s",
        ocop=timings["ocop_expiry"],
        raw=timings["raw_expiry"],
        sizes=SIZES,
    )
    report(
        f"trade: {PRODUCTS} certificates renewed, listings restored",
        "s",
        ocop=timings["ocop_renewal"],
        raw=timings["raw_renewal"],
        sizes=SIZES,
    )
    for name, share in (("p50", 0.5), ("p99", 0.99)):
        report(
            f"trade: certificate event -> listing suspended {name}",
            "ms",
            ocop=pct(ocop_latencies, share),
            raw=pct(raw_latencies, share),
            sizes={"samples": SAMPLES, "listings per product": LISTED_AT},
        )
    print(
        f"latency ms: ocop p50 {pct(ocop_latencies, 0.5):.1f} p99 {pct(ocop_latencies, 0.99):.1f};"
        f" raw p50 {pct(raw_latencies, 0.5):.1f} p99 {pct(raw_latencies, 0.99):.1f}"
    )
    print(
        f"mean ms: ocop {statistics.mean(ocop_latencies):.1f}, raw {statistics.mean(raw_latencies):.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
