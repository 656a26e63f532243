"""Benchmark: ``ocop replay insights`` (the runtime's batched consumer rebuilding the insights
read model from offset zero) against a raw aiokafka + asyncpg batched consumer doing the same
work, same run; and the peak memory of each.

The work: N public events (producers, products, certificates) on the registry's and
evaluation's topics, under a prefix of this run's own, read from offset zero to the end; per
batch (``getmany``, up to ``OCOP_BENCH_INSIGHTS_BATCH`` records) one transaction with one
statement for the inbox rows and set-based upserts of the facts, and one batch after another.
The replay is the service's code: :func:`ocop_insights.replay.replay` (envelope and contract
validation of every record, inbox, handlers, dead-letter classification, a span per batch).
The raw baseline is written here with its own code: its own consumer loop, ``json.loads`` of
the values, its own SQL into a schema of the same tables. Both must leave the same rows (a
checksum over every fact table and the count of inbox rows).

Each side runs in a process of its own, so its peak resident memory is its own; the resident
memory is also sampled at each quarter of the replay, to show whether it grows with N. The sides
run raw, ocop, ocop, raw (each into a fresh schema; every run must leave the same rows), and a
side's time is the mean of its two runs.

``OCOP_BENCH_INSIGHTS_EVENTS`` (default 50,000, so that ``make bench`` stays short on two cores;
the target size is 1,000,000) sets N.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr

from bench.common import bench_settings, quiet_faststream, report
from ocop_contracts import Envelope, topics
from ocop_contracts.events import evaluation as ev
from ocop_contracts.events import registry as reg
from ocop_insights.app import MIGRATIONS
from ocop_insights.settings import InsightsSettings
from ocop_runtime.kafka import DEV_ADMIN_PASSWORD, KafkaAuth, TopicNames, ensure_topics
from ocop_runtime.migrations import migrate

EVENTS = int(os.environ.get("OCOP_BENCH_INSIGHTS_EVENTS", "50000"))
BATCH = int(os.environ.get("OCOP_BENCH_INSIGHTS_BATCH", "2000"))
FACT_TABLES = ("producers", "products", "product_places", "certificates")


def _admin() -> KafkaAuth:
    return KafkaAuth(username="admin", password=DEV_ADMIN_PASSWORD)


def _events(n: int) -> Any:
    """n events in the order a city's history would publish them: per 10, one producer and
    its products and their certificates (a certificate of every product)."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    made = 0
    while made < n:
        producer_id = uuid4()
        form = reg.LegalForm.COOPERATIVE if made % 3 else reg.LegalForm.HOUSEHOLD_BUSINESS
        when = start + timedelta(minutes=made)
        batch: list[Any] = [
            reg.ProducerRegistered(
                producer_id=producer_id,
                legal_form=form,
                commune_code="00004",
                district_code="001",
                registered_at=when,
            )
        ]
        for i in range(4):
            product_id = uuid4()
            batch.append(
                reg.ProductRegistered(
                    product_id=product_id,
                    producer_id=producer_id,
                    producer_legal_form=form,
                    name=f"Sản phẩm {made + i}",
                    public_code="01-00004-0001-2020",
                    lookup_url="https://ocop.example/p/01-00004-0001-2020",
                    classification="1048",
                    product_set="1048.food.tea",
                    sector="1048.food",
                    statistics_sector="food",
                    commune_code="00004",
                    district_code="001",
                    registered_on=when.date(),
                    registered_at=when,
                )
            )
            decided = date(2021, 1, 1) + timedelta(days=(made + i) % 700)
            batch.append(
                ev.ProductCertified(
                    certificate_id=uuid4(),
                    certificate_number=f"{made + i}/2021",
                    product_id=product_id,
                    star=3 + (made + i) % 2,
                    level=ev.Level.CITY,
                    decision_number="1/QĐ-UBND",
                    decision_date=decided,
                    valid_from=decided,
                    valid_until=decided + timedelta(days=3 * 365),
                    rulebook="1048",
                    issued_at=when,
                )
            )
        batch.append(
            reg.ProducerUpdated(
                producer_id=producer_id,
                version=2,
                legal_form=form,
                commune_code="00008",
                updated_at=when + timedelta(days=1),
            )
        )
        yield from batch[: n - made]
        made += len(batch)


async def publish(prefix: str) -> int:
    names = TopicNames(prefix)
    wanted = [names.physical(t) for t in topics.SUBSCRIPTIONS["insights"]]
    wanted.append(names.physical(topics.dlq("insights")))
    await ensure_topics(
        os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"],
        wanted,
        partitions=3,
        replication_factor=1,
        auth=_admin(),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"],
        acks="all",
        linger_ms=20,
        max_batch_size=256 * 1024,
        **_admin().options(),
    )
    await producer.start()
    sent = 0
    try:
        pending = []
        for event in _events(EVENTS):
            headers = Envelope(
                id=str(uuid4()),
                type=event.CE_TYPE,
                source=f"/ocop/{event.SERVICE}",
                time=datetime.now(UTC),
                subject=event.key(),
            ).to_headers()
            pending.append(
                await producer.send(
                    names.physical(event.TOPIC),
                    key=event.key().encode(),
                    value=event.to_json(),
                    headers=headers,
                )
            )
            sent += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Samples:
    """Resident memory at each quarter of the records read."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    def __call__(self, done: int, total: int) -> None:
        for quarter in (1, 2, 3, 4):
            key = f"{quarter * 25}%"
            if key not in self.at and total and done >= total * quarter / 4:
                self.at[key] = round(_rss_mb(), 1)


async def side_ocop(prefix: str, schema: str) -> dict[str, Any]:
    from ocop_insights.replay import replay

    settings = bench_settings(InsightsSettings).model_copy(
        update={
            "db_schema": schema,
            "topic_prefix": prefix,
            "batch_max_records": BATCH,
            "kafka_sasl_username": "admin",
            "kafka_sasl_password": SecretStr(DEV_ADMIN_PASSWORD),
        }
    )
    samples = Samples()
    started = time.perf_counter()
    result = await replay(settings, progress=samples, publish=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "records": result.records, "rss": samples.at}


_INBOX = """
INSERT INTO inbox (consumer, topic, source, event_id, ce_type, kafka_partition, kafka_offset)
SELECT 'insights', * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[],
                                 $6::bigint[])
ON CONFLICT DO NOTHING RETURNING event_id
"""
_PRODUCERS = """
INSERT INTO producers AS p (producer_id, version, legal_form, commune_code, district_code,
                            registered_on)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::date[])
ON CONFLICT (producer_id) DO UPDATE SET version = EXCLUDED.version,
    legal_form = EXCLUDED.legal_form, commune_code = EXCLUDED.commune_code,
    district_code = EXCLUDED.district_code,
    registered_on = coalesce(p.registered_on, EXCLUDED.registered_on)
WHERE p.version < EXCLUDED.version
"""
_PLACES = """
INSERT INTO product_places (product_id, version, since, commune_code, district_code)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::date[], $4::text[], $5::text[])
ON CONFLICT DO NOTHING
"""
_PRODUCTS = """
INSERT INTO products AS p (product_id, version, producer_id, legal_form, classification,
                           product_set, sector, statistics_sector, registered_on)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::date[])
ON CONFLICT (product_id) DO UPDATE SET version = EXCLUDED.version
WHERE p.version < EXCLUDED.version
"""
_CERTIFICATES = """
INSERT INTO certificates (certificate_id, product_id, kind, star, level, decision_date,
                          valid_from, valid_until, replaces, application_id)
SELECT c.*, NULL::uuid, NULL::uuid FROM unnest($1::uuid[], $2::uuid[], $3::text[],
    $4::smallint[], $5::text[], $6::date[], $7::date[], $8::date[]) AS c
ON CONFLICT (certificate_id) DO NOTHING
"""


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _hanoi_day(text: str) -> date:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment + timedelta(hours=7)).date()


async def _raw_batch(conn: asyncpg.Connection, prefix: str, records: list[Any]) -> None:
    rows = []
    for r in records:
        headers = {k: v.decode() for k, v in r.headers}
        rows.append((r, headers, json.loads(r.value)))
    async with conn.transaction():
        new = {
            x["event_id"]
            for x in await conn.fetch(
                _INBOX,
                [r.topic.removeprefix(prefix) for r, _, _ in rows],
                [h["ce_source"] for _, h, _ in rows],
                [h["ce_id"] for _, h, _ in rows],
                [h["ce_type"] for _, h, _ in rows],
                [r.partition for r, _, _ in rows],
                [r.offset for r, _, _ in rows],
            )
        }
        run: list[dict[str, Any]] = []
        kind = None
        for _, h, v in rows:
            if h["ce_id"] not in new:
                continue
            name = h["ce_type"].split(".")[-2]
            if name != kind and run:
                await _raw_run(conn, kind, run)
                run = []
            kind = name
            run.append(v)
        if run:
            await _raw_run(conn, kind, run)


async def _raw_run(conn: asyncpg.Connection, kind: str | None, run: list[dict[str, Any]]) -> None:
    if kind in ("ProducerRegistered", "ProducerUpdated"):
        latest: dict[str, dict[str, Any]] = {}
        for v in run:
            latest[v["producer_id"]] = v
        vs = list(latest.values())
        await conn.execute(
            _PRODUCERS,
            [v["producer_id"] for v in vs],
            [v.get("version", 1) for v in vs],
            [v["legal_form"] for v in vs],
            [v["commune_code"] for v in vs],
            [v.get("district_code") for v in vs],
            [_hanoi_day(v["registered_at"]) if "registered_at" in v else None for v in vs],
        )
    elif kind == "ProductRegistered":
        ids = [v["product_id"] for v in run]
        await conn.execute(
            _PLACES,
            ids,
            [1] * len(run),
            [_day(v["registered_on"]) for v in run],
            [v["commune_code"] for v in run],
            [v.get("district_code") for v in run],
        )
        await conn.execute(
            _PRODUCTS,
            ids,
            [1] * len(run),
            [v["producer_id"] for v in run],
            [v["producer_legal_form"] for v in run],
            [v["classification"] for v in run],
            [v["product_set"] for v in run],
            [v["sector"] for v in run],
            [v["statistics_sector"] for v in run],
            [_day(v["registered_on"]) for v in run],
        )
    elif kind == "ProductCertified":
        await conn.execute(
            _CERTIFICATES,
            [v["certificate_id"] for v in run],
            [v["product_id"] for v in run],
            ["certified"] * len(run),
            [v["star"] for v in run],
            [v["level"] for v in run],
            [_day(v["decision_date"]) for v in run],
            [_day(v["valid_from"]) for v in run],
            [_day(v["valid_until"]) for v in run],
        )


async def side_raw(prefix: str, schema: str) -> dict[str, Any]:
    conn = await asyncpg.connect(os.environ["OCOP_BENCH_DATABASE_URL"])
    await conn.execute(f"SET search_path TO {schema}")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"],
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **_admin().options(),
    )
    await consumer.start()
    samples = Samples()
    try:
        await consumer._client.force_metadata_update()
        tps = [
            TopicPartition(prefix + t, p)
            for t in topics.SUBSCRIPTIONS["insights"]
            for p in sorted(consumer.partitions_for_topic(prefix + t) or ())
        ]
        started = time.perf_counter()
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        total = sum(ends.values())
        remaining = {tp for tp in tps if ends[tp] > 0}
        done = 0
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=BATCH)
            records = [r for tp, rs in fetched.items() for r in rs if r.offset < ends[tp]]
            if records:
                await _raw_batch(conn, prefix, records)
                done += len(records)
                samples(done, total)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        await conn.close()
    return {"seconds": seconds, "records": done, "rss": samples.at}


async def _fresh_schema(schema: str) -> None:
    conn = await asyncpg.connect(os.environ["OCOP_BENCH_DATABASE_URL"])
    try:
        await migrate(conn, schema, MIGRATIONS)
    finally:
        await conn.close()


async def _checksum(schema: str) -> dict[str, Any]:
    conn = await asyncpg.connect(os.environ["OCOP_BENCH_DATABASE_URL"])
    try:
        out: dict[str, Any] = {}
        for table in FACT_TABLES:
            out[table] = await conn.fetchval(
                f"SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|'"
                f" ORDER BY t::text)), '') FROM {schema}.{table} t"
            )
        out["inbox"] = await conn.fetchval(f"SELECT count(*) FROM {schema}.inbox")
        return out
    finally:
        await conn.close()


def _run_side(side: str, prefix: str, schema: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.insights_replay", side, prefix, schema],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {side} side failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def measure() -> None:
    run = uuid4().hex[:8]
    prefix = f"bench.insights.{run}."
    started = time.perf_counter()
    sent = await publish(prefix)
    print(f"insights replay: published {sent:,} events in {time.perf_counter() - started:.1f} s")
    # Raw, ocop, ocop, raw: whatever drifts during the run (the database's checkpoints and
    # vacuum after the writes of the side before, the page cache) weighs on both sides alike.
    # Each run replays into a schema of its own; a side's time is the mean of its two runs.
    runs: dict[str, list[dict[str, Any]]] = {"raw": [], "ocop": []}
    sums: list[dict[str, Any]] = []
    for n, side in enumerate(("raw", "ocop", "ocop", "raw")):
        schema = f"insights_{side}_{run}_{n}"
        await _fresh_schema(schema)
        r = _run_side(side, prefix, schema)
        runs[side].append(r)
        sums.append(await _checksum(schema))
        print(
            f"  {side}: {r['records']:,} records in {r['seconds']:.1f} s"
            f" ({r['records'] / r['seconds']:,.0f}/s), peak RSS {r['peak_mb']:.0f} MB,"
            f" RSS by progress {r['rss']}"
        )
    if any(other != sums[0] for other in sums[1:]):
        raise SystemExit(f"the runs differ: {sums}")
    results = {
        side: {
            "records": min(r["records"] for r in done),
            "seconds": statistics.mean(r["seconds"] for r in done),
            "peak_mb": max(r["peak_mb"] for r in done),
        }
        for side, done in runs.items()
    }
    if results["ocop"]["records"] != sent or sums[1]["inbox"] != sent:
        raise SystemExit(f"ocop read {results['ocop']['records']} of {sent} records")
    sizes = {"events": sent, "batch": BATCH}
    report(
        "insights replay (batched consumer)",
        "events/s",
        ocop=sent / results["ocop"]["seconds"],
        raw=sent / results["raw"]["seconds"],
        sizes=sizes,
        target=1.2,
    )
    report(
        "insights replay peak memory",
        "MB",
        ocop=results["ocop"]["peak_mb"],
        raw=results["raw"]["peak_mb"],
        sizes=sizes,
    )


def main() -> None:
    quiet_faststream()
    if len(sys.argv) == 4:
        side, prefix, schema = sys.argv[1:]
        result = asyncio.run((side_ocop if side == "ocop" else side_raw)(prefix, schema))
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    asyncio.run(measure())


if __name__ == "__main__":
    main()
