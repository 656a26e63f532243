"""The ``ocop`` command on the real test broker: dead letters listed and replayed, service status."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from typer.testing import CliRunner

from ocop_contracts import Envelope, topics
from ocop_contracts.envelope import ce_type, source
from ocop_runtime.app import ServiceSpec, create_service_app
from ocop_runtime.cli import app, list_dead_letters, replay, service_status, service_urls
from ocop_runtime.dlq import DLQ_HEADERS, dead_letter_headers
from ocop_runtime.kafka import client_options, ensure_topics, read_all, start_client
from ocop_runtime.migrations import migrate
from ocop_runtime.services import discover
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import serving, wait_until

runner = CliRunner()
SERVICES = [s.name for s in discover()]


@dataclass(frozen=True)
class SentDeadLetter:
    ce_id: str
    key: bytes
    value: bytes
    original_headers: list[tuple[str, bytes]]
    reason: str
    partition: int
    offset: int


@pytest.fixture
async def dead_letter(kafka_bootstrap: str, unique: str) -> SentDeadLetter:
    """A dead letter of trade's consumer for a record once read from TRADE_LISTINGS[1]@42."""
    await ensure_topics(kafka_bootstrap, topics.all_topics(), partitions=3, replication_factor=1)
    key = f"product-{unique}"
    original = Envelope(
        id=f"cli-{unique}",
        type=ce_type("trade", "ProductListed"),
        source=source("trade"),
        time=datetime.now(UTC),
        subject=key,
    ).to_headers()
    reason = f"invalid ProductListed {unique}: price: field required"
    headers = dead_letter_headers(
        original,
        reason=reason,
        consumer="trade",
        topic=topics.TRADE_LISTINGS,
        partition=1,
        offset=42,
        attempts=5,
    )
    value = json.dumps({"product_id": key}).encode()
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", **client_options(None)
    )
    await start_client(producer)
    try:
        meta = await producer.send_and_wait(
            topics.dlq("trade"), key=key.encode(), value=value, headers=headers
        )
    finally:
        await producer.stop()
    return SentDeadLetter(
        f"cli-{unique}", key.encode(), value, original, reason, meta.partition, meta.offset
    )


def header(record: Any, name: str) -> str | None:
    return next((bytes(v).decode() for k, v in record.headers if k == name), None)


async def test_dead_letter_is_listed_with_reason_and_origin(
    kafka_bootstrap: str, dead_letter: SentDeadLetter
) -> None:
    letters = await list_dead_letters(kafka_bootstrap, "trade")

    [letter] = [d for d in letters if d.header("ce_id") == dead_letter.ce_id]
    assert (letter.dlq_partition, letter.dlq_offset) == (dead_letter.partition, dead_letter.offset)
    summary = letter.summary()
    assert summary["reason"] == dead_letter.reason
    assert (summary["topic"], summary["partition"], summary["offset"]) == (
        topics.TRADE_LISTINGS,
        "1",
        "42",
    )
    assert summary["attempts"] == "5"


def test_dlq_list_json_shows_the_dead_letter(
    kafka_bootstrap: str, dead_letter: SentDeadLetter
) -> None:
    result = runner.invoke(app, ["dlq", "list", "trade", "--json", "--bootstrap", kafka_bootstrap])

    assert result.exit_code == 0, result.output
    [summary] = [s for s in json.loads(result.stdout) if s["ce_id"] == dead_letter.ce_id]
    assert summary["reason"] == dead_letter.reason
    assert summary["dlq_offset"] == dead_letter.offset


async def test_replayed_dead_letter_is_back_on_its_original_topic_as_it_was(
    kafka_bootstrap: str, dead_letter: SentDeadLetter
) -> None:
    replayed = await replay(kafka_bootstrap, "trade", (dead_letter.partition, dead_letter.offset))
    assert [d.header("ce_id") for d in replayed] == [dead_letter.ce_id]

    async def copies() -> list[Any]:
        records = await read_all(kafka_bootstrap, topics.TRADE_LISTINGS)
        return [r for _, r in records if header(r, "ce_id") == dead_letter.ce_id]

    [record] = await wait_until(copies, timeout_seconds=30, what="the replayed record")
    assert record.key == dead_letter.key
    assert record.value == dead_letter.value
    assert [(k, bytes(v)) for k, v in record.headers] == dead_letter.original_headers
    assert not {k for k, _ in record.headers} & DLQ_HEADERS


def test_replay_refuses_without_a_selection(kafka_bootstrap: str) -> None:
    for args in ([], ["--partition", "0"], ["--all", "--offset", "3"]):
        result = runner.invoke(
            app, ["dlq", "replay", "trade", *args, "--bootstrap", kafka_bootstrap]
        )
        assert result.exit_code != 0, args
        assert "choose what to replay: --all, or --partition P with --offset O" in result.output


def test_replay_refuses_an_offset_that_does_not_exist(kafka_bootstrap: str) -> None:
    offset = 10**12
    result = runner.invoke(
        app,
        [
            "dlq",
            "replay",
            "trade",
            "--partition=0",
            f"--offset={offset}",
            "--bootstrap",
            kafka_bootstrap,
        ],
    )
    assert result.exit_code != 0
    assert f"no dead letter at partition 0, offset {offset} of {topics.dlq('trade')}" in (
        result.output
    )


def test_dlq_list_reads_in_80_columns_with_the_whole_reason_and_origin(
    kafka_bootstrap: str, dead_letter: SentDeadLetter
) -> None:
    result = runner.invoke(
        app, ["dlq", "list", "trade", "--bootstrap", kafka_bootstrap], env={"COLUMNS": "80"}
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    block = " ".join(line.strip() for line in lines)
    assert dead_letter.reason in block
    assert f"{topics.TRADE_LISTINGS} 1/42" in block
    assert dead_letter.ce_id in block


def test_dlq_list_refuses_an_unknown_service(kafka_bootstrap: str) -> None:
    result = runner.invoke(app, ["dlq", "list", "nowhere", "--bootstrap", kafka_bootstrap])
    assert result.exit_code == 2
    assert "unknown service 'nowhere'" in result.output


@pytest.fixture
def refused_ports() -> Iterator[list[int]]:
    """Ports bound but not listening: connecting to them is refused for the test's duration."""
    sockets = [socket.socket() for _ in SERVICES]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        yield [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_status_asks_each_service_of_the_catalogue_on_its_port() -> None:
    assert service_urls("http://10.0.0.7/") == {
        s.name: f"http://10.0.0.7:{s.http_port}" for s in discover()
    }
    assert service_urls("http://h", {"trade": "http://t:1"})["trade"] == "http://t:1"


def test_status_refuses_a_url_for_a_service_outside_the_catalogue() -> None:
    result = runner.invoke(app, ["status", "--url", "nowhere=http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert f"SERVICE one of {', '.join(SERVICES)}" in result.output


def test_status_reports_every_service_down_when_nothing_listens(
    kafka_bootstrap: str, refused_ports: list[int]
) -> None:
    urls = [
        f"--url={name}=http://127.0.0.1:{port}"
        for name, port in zip(SERVICES, refused_ports, strict=True)
    ]
    result = runner.invoke(app, ["status", "--json", "--bootstrap", kafka_bootstrap, *urls])

    assert result.exit_code == 1, result.output
    statuses = json.loads(result.stdout)
    assert {s["service"]: s["state"] for s in statuses} == dict.fromkeys(SERVICES, "down")
    assert all(s["detail"].startswith("ConnectError") for s in statuses)


class TradeSettings(ServiceSettings):
    service: str = "trade"


async def commit_offset(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        **client_options(None),
    )
    await start_client(consumer)
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


def test_status_reads_in_80_columns_and_wide_keeps_every_column(
    kafka_bootstrap: str, refused_ports: list[int]
) -> None:
    urls = [
        f"--url={name}=http://127.0.0.1:{port}"
        for name, port in zip(SERVICES, refused_ports, strict=True)
    ]
    args = ["status", "--bootstrap", kafka_bootstrap, *urls]
    narrow = runner.invoke(app, args, env={"COLUMNS": "80"})
    wide = runner.invoke(app, [*args, "--wide"], env={"COLUMNS": "200"})

    assert narrow.exit_code == wide.exit_code == 1  # nothing listens: every service is down
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if "down" in line]
    assert [next(n for n in SERVICES if f" {n} " in row) for row in rows] == SERVICES
    assert all(f"127.0.0.1:{port}" in wide.stdout for port in refused_ports)


async def test_status_reports_a_running_service_ready_with_its_group_lag(
    make_settings: Callable[..., ServiceSettings], kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = make_settings(TradeSettings)
    await ensure_topics(kafka_bootstrap, topics.all_topics(), partitions=3, replication_factor=1)
    tp = TopicPartition(topics.TRADE_LISTINGS, 0)
    await commit_offset(kafka_bootstrap, settings.consumer_group, tp, 0)
    probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, **client_options(None))
    await start_client(probe)
    try:
        end = (await probe.end_offsets([tp]))[tp]
    finally:
        await probe.stop()
    spec = ServiceSpec("trade", "trade", "a service with no handlers", migrations=tmp_path)

    async with serving(create_service_app(settings, spec)) as url:
        [status] = await service_status(kafka_bootstrap, {"trade": url})

    assert status.state == "ready", status.detail
    assert status.consumer_group == settings.consumer_group
    assert (status.outbox_backlog, status.dead_letters) == (0, 0)
    assert status.lag is not None
    assert status.lag[topics.TRADE_LISTINGS] >= end


async def test_outbox_parked_lists_parked_rows_with_their_reason_and_retry_releases_them(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    schema = f"cli_outbox_{unique}"
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema, tmp_path)
        for n, (key, parked) in enumerate([("a", True), ("a", True), ("b", False)]):
            await conn.execute(
                f"INSERT INTO {schema}.outbox (event_id, topic, key, ce_type, ce_source, ce_time,"
                " payload, parked_at, parked_reason) VALUES ($1, 'ocop.trade.listings.v1', $2,"
                " 't', '/ocop/trade', now(), '{}', $3, $4)",
                uuid4(),
                key,
                datetime.now(UTC) if parked else None,
                f"too large ({n})" if parked else None,
            )
    finally:
        await conn.close()
    args = ["outbox", "parked", "trade", "--database-url", database_url, "--schema", schema]

    listed = await asyncio.to_thread(runner.invoke, app, [*args, "--json"])
    assert listed.exit_code == 0, listed.output
    report = json.loads(listed.output)
    assert [r["reason"] for r in report["parked"]] == ["too large (0)", "too large (1)"]
    assert report["released"] == 0

    first = report["parked"][0]["id"]
    released = await asyncio.to_thread(runner.invoke, app, [*args, "--retry", str(first), "--json"])
    assert released.exit_code == 0, released.output
    after = json.loads(released.output)
    assert after["released"] == 2  # the key's later row is released with it, to keep order
    assert after["parked"] == []


def test_outbox_parked_refuses_an_unknown_service() -> None:
    result = runner.invoke(app, ["outbox", "parked", "nowhere"])
    assert result.exit_code == 2
    assert "unknown service 'nowhere'" in result.output


def test_token_for_an_agencys_client_names_the_agency_and_a_bad_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwt

    from ocop_runtime.auth import AuthError, principal_from

    monkeypatch.setenv("OCOP_STATE_DIR", str(tmp_path))
    made = runner.invoke(
        app, ["token", "--role", "agency", "--agency", "so-cong-thuong", "--subject", "svc-sct"]
    )
    assert made.exit_code == 0, made.output
    claims = jwt.decode(made.output.strip(), options={"verify_signature": False})
    assert claims["ocop_agency"] == "so-cong-thuong"
    assert principal_from(claims).agency == "so-cong-thuong"
    plain = runner.invoke(app, ["token", "--role", "city_office"])
    plain_claims = jwt.decode(plain.output.strip(), options={"verify_signature": False})
    assert "ocop_agency" not in plain_claims and principal_from(plain_claims).agency is None

    assert runner.invoke(app, ["token", "--role", "agency", "--agency", "Sở.x"]).exit_code == 2
    # A claim that is no agency's name (it would name a topic) is not a valid token.
    with pytest.raises(AuthError, match="ocop_agency"):
        principal_from({**claims, "ocop_agency": "x.v1,ocop.registry.commands"})
