"""Insights on the real broker and database: public events become statistics (HTTP, CSV, the
compacted statistics topic, coalesced), a replay from offset zero gives the live result, and a
record the projections cannot apply goes to the dead-letter topic."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from ocop_contracts import topics
from ocop_contracts.events import StatisticPublished
from ocop_insights.app import create_app
from ocop_insights.replay import replay
from ocop_insights.settings import InsightsSettings
from ocop_runtime.kafka import admin_client
from ocop_runtime.testing import own_topics, running, wait_until
from tests.flow import header, records_on, send_events, send_raw
from tests.insights_events import certified, nominated, producer, product

# Certificates decided a year ago are live today (36 months), so today's snapshots count them.
DECIDED = date.today() - timedelta(days=365)
AFTER = DECIDED + timedelta(days=30)
BEFORE = DECIDED - timedelta(days=1)
DAYS = (BEFORE, AFTER, date.today(), DECIDED + timedelta(days=3 * 365))


def population(n: int) -> list[Any]:
    """n products of 3 producers, certified in 2021 (every third a 4-star, one nominated)."""
    producers = [producer() for _ in range(3)]
    products = [
        product(producer_id=producers[i % 3].producer_id, on=date(2020, 5, 1)) for i in range(n)
    ]
    certificates = [
        certified(p.product_id, 4 if i % 3 == 0 else 3, DECIDED) for i, p in enumerate(products)
    ]
    application = uuid4()
    top = certified(products[0].product_id, 4, DECIDED, application_id=application)
    certificates[0] = top
    return [
        *producers,
        *products,
        *certificates,
        nominated(products[0].product_id, application, DECIDED),
    ]


async def by_star(client: Any, day: date) -> dict[str, int]:
    response = await client.get("/statistics/products.by_star", params={"as_of": str(day)})
    assert response.status_code == 200, response.text
    return {r["key"]: r["values"]["products"] for r in response.json()["rows"]}


async def everything(client: Any) -> dict[str, Any]:
    names = [s["name"] for s in (await client.get("/statistics")).json()]
    out = {}
    for day in DAYS:
        for name in names:
            response = await client.get(f"/statistics/{name}", params={"as_of": str(day)})
            assert response.status_code == 200, response.text
            out[f"{name}@{day}"] = response.json()
    return out


async def test_public_events_become_statistics_over_http_csv_and_the_statistics_topic(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    settings = make_settings(InsightsSettings)
    app = create_app(settings)
    async with running(app, role=None) as client:
        events = population(30)
        await send_events(kafka_bootstrap, events)

        expected = {"3": 20, "4": 9, "potential_5": 1, "5": 0}

        async def counted() -> bool:
            # The nomination travels on another topic than the certificates: it may come later.
            return await by_star(client, AFTER) == expected

        await wait_until(counted, timeout_seconds=30, what=f"the products counted as {expected}")
        assert sum((await by_star(client, BEFORE)).values()) == 0

        exported = await client.get(
            "/statistics/products.by_star", params={"as_of": str(AFTER), "format": "csv"}
        )
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["key"], r["products"]) for r in rows] == [
            ("3", "20"),
            ("4", "9"),
            ("potential_5", "1"),
            ("5", "0"),
            ("total", "30"),
        ]
        assert rows[2]["label"] == "Tiềm năng 5 sao"

        # Today's snapshot of the key, on the statistics topic, keyed by statistic.
        async def snapshot() -> StatisticPublished | None:
            records = await records_on(
                kafka_bootstrap,
                topics.INSIGHTS_STATISTICS,
                lambda r: r.key == b"products.by_star.city",
            )
            for record in reversed(records):
                event = StatisticPublished.model_validate_json(record.value)
                if event.totals.get("products") == 30:
                    assert header(record, "ce_type") == StatisticPublished.CE_TYPE
                    return event
            return None

        published = await wait_until(snapshot, timeout_seconds=30, what="a published snapshot")
        assert {r.key: r.values["products"] for r in published.rows}["potential_5"] == 1
        # A burst of 30+ events gives a few snapshots of the key, not one per event.
        all_snapshots = await records_on(
            kafka_bootstrap, topics.INSIGHTS_STATISTICS, lambda r: r.key == b"products.by_star.city"
        )
        assert len(all_snapshots) < 10, len(all_snapshots)

    async with admin_client(kafka_bootstrap) as admin:
        configs = await admin.describe_configs(
            [_topic_resource(own_topics().physical(topics.INSIGHTS_STATISTICS))]
        )
    values = {c[0]: c[1] for c in configs[0].resources[0][4]}
    assert values["cleanup.policy"] == "compact"


def _topic_resource(name: str) -> Any:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    return ConfigResource(ConfigResourceType.TOPIC, name)


async def test_statistics_refuse_unknown_names_and_days_out_of_range_with_the_field(
    make_settings: Any,
) -> None:
    async with running(create_app(make_settings(InsightsSettings)), role=None) as client:
        missing = await client.get("/statistics/products.by_nothing")
        assert missing.status_code == 404
        assert missing.json()["detail"][0]["loc"] == ["path", "name"]
        early = await client.get("/statistics/products.by_star", params={"as_of": "1800-01-01"})
        assert early.status_code == 422
        assert early.json()["detail"][0]["loc"] == ["query", "as_of"]
        bad = await client.get("/statistics/products.by_star", params={"as_of": "yesterday"})
        assert bad.status_code == 422
        listed = await client.get("/statistics")
        assert "products.by_star" in {s["name"] for s in listed.json()}


async def test_replay_from_offset_zero_gives_the_live_statistics(
    make_settings: Any, kafka_bootstrap: str, database_url: str
) -> None:
    # Every statistic on four days, three times: more requests than an anonymous burst allows.
    settings = make_settings(InsightsSettings, rate_limit_burst=10_000)
    events = population(40)
    async with running(create_app(settings), role=None) as client:
        await send_events(kafka_bootstrap, events)

        async def counted() -> bool:
            return sum((await by_star(client, AFTER)).values()) == 40

        await wait_until(counted, timeout_seconds=30, what="40 products counted live")
        live = await everything(client)

        # A fact that no event supports (a bug's leftovers): the replay drops it.
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                f'INSERT INTO "{settings.db_schema}".certificates VALUES'
                " ($1, $2, 'certified', 5, 'central', $3, $3, $4, NULL, NULL)",
                uuid4(),
                uuid4(),
                DECIDED,
                DECIDED + timedelta(days=1000),
            )
        finally:
            await conn.close()
        assert (await by_star(client, AFTER))["5"] == 1

        seen: list[tuple[int, int]] = []
        report = await replay(
            settings, progress=lambda done, total: seen.append((done, total)), publish=False
        )
        assert report.records == len(events)
        assert report.outcomes == {"processed": len(events)}
        assert seen[0] == (0, len(events)) and seen[-1] == (len(events), len(events))
        replayed = await everything(client)
        assert json.dumps(replayed, sort_keys=True) == json.dumps(live, sort_keys=True)

        # The same through the command line: `ocop replay insights`.
        command = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("ocop")),
            "replay",
            "insights",
            "--json",
            env={
                **os.environ,
                "OCOP_ENV": "test",
                "OCOP_DATABASE_URL": settings.dsn,
                "OCOP_DB_SCHEMA": settings.db_schema,
                "OCOP_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
                "OCOP_TOPIC_PREFIX": settings.topic_prefix,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(command.communicate(), 120)
        assert command.returncode == 0, err.decode()
        printed = json.loads(out.decode().strip().splitlines()[-1])
        assert printed["records"] == len(events)
        assert printed["outcomes"] == {"processed": len(events)}
        assert json.dumps(await everything(client), sort_keys=True) == json.dumps(
            live, sort_keys=True
        )


async def test_a_record_the_projections_cannot_read_is_dead_lettered_and_the_rest_applied(
    make_settings: Any, kafka_bootstrap: str
) -> None:
    settings = make_settings(InsightsSettings)
    async with running(create_app(settings), role=None) as client:
        good = product(on=date(2020, 5, 1))
        bad = certified(good.product_id, 4, DECIDED)
        await send_raw(
            kafka_bootstrap,
            bad.TOPIC,
            key=bad.key().encode(),
            value=b'{"certificate_id": "not-a-uuid"}',
            headers=[
                ("ce_specversion", b"1.0"),
                ("ce_id", b"bad-1"),
                ("ce_type", bad.CE_TYPE.encode()),
                ("ce_source", b"/tests"),
                ("content-type", b"application/json"),
            ],
        )
        await send_events(kafka_bootstrap, [good, certified(good.product_id, 3, DECIDED)])

        async def counted() -> bool:
            return (await by_star(client, AFTER))["3"] == 1

        await wait_until(counted, timeout_seconds=30, what="the good certificate applied")
        letters = await wait_until(
            lambda: records_on(kafka_bootstrap, topics.dlq("insights"), lambda r: True),
            timeout_seconds=30,
            what="a dead letter",
        )
        assert header(letters[0], "ce_id") == "bad-1"
        assert (header(letters[0], "ocop_dlq_reason") or "").startswith("invalid ")
        status = (await client.get("/status")).json()
        assert status["dead_letters"] == 1
        assert own_topics().physical(topics.REGISTRY_PRODUCTS) in status["subscribed_topics"]
