"""Benchmark: scoring and certifying a 600-product evaluation round against raw asyncpg, same run.

The evaluation service runs in-process exactly as in the tests (``create_app`` + ``running``: its
pool, migrations, consumer and outbox relay on the bench stack) and is called directly as an ASGI
app (``bench.common.InProcess``), so no network and no HTTP client library is involved. The baseline works on a second schema migrated with
the service's own migrations, holding a copy of the same round.

Set-up: a city round of the current year is opened and given a council of five over HTTP
(``POST /rounds``, ``PUT /rounds/{id}/council``). Its N products (``OCOP_BENCH_ROUND_SIZE``, 600
like Hanoi's 2024 round) enter through ``Evaluation.enter_application`` called directly, in one
transaction, with ``ApplicationSubmitted`` events (regime 1489, product sets drawn from the 148
classification): the consumer's path without the Kafka hop. The round, its council and its
entries are copied row for row to the raw schema. Beforehand the app's consumer group is moved
to the end of its topics, so that it does not replay what earlier benchmarks published there
while this one measures.

1. Score sheets: every member hands in a complete sheet for every product,
   ``PUT /rounds/{id}/sheets/{application_id}`` with that member's token. Points: each product a
   share of every criterion's maximum, each member within a few points of it, so that stars
   spread over 3-5★ (5★ is nominated to the central level), some products are not recognised,
   a few lack a mandatory criterion, and one member's unit raises conflict-of-interest flags.
   Baseline: the same sheet as one ``INSERT ... ON CONFLICT`` in autocommit on one connection,
   into the raw schema (which is how the raw round gets its sheets). Requests are interleaved
   with their baseline (ocop, raw, ocop, raw, ...). This is the p50/p99 reported: closing and
   deciding are one request each, so no per-product latency can be observed inside them, while
   a sheet is the request council members wait on, N x 5 times per round.
2. Closing: ``POST /rounds/{id}/closure``, with an override reason for the flags. Baseline, in
   one transaction on one connection: the round's entries, the open rounds, the council and the
   sheets in one query each; every product scored with the domain's rules (``score_sheet``,
   ``score_council``, ``integrity_flags``, ``outcome_of``); its own summary of each result
   (average points per part, the summary kept on the entry, the entry's status) written with
   one ``executemany``; the forwarded and nominated products' entries at the next level with
   one ``INSERT ... SELECT FROM unnest``; its own contract events (``ProductScored``,
   ``ProductNominated``, ``ProductNotRecognised``, ``ApplicationAccepted``) staged with one
   ``executemany``; the round marked closed.
3. Decision: ``POST /rounds/{id}/decision``. Baseline, in one transaction: the scored entries and
   the products' existing certificates in one query each, ``may_award`` and ``certify`` per
   product, the certificate numbers reserved with one statement, then the certificates, the
   entries' statuses and its own ``ProductCertified`` events with one ``executemany`` each.

What the two sides share is the rules being exercised and the published contract: the domain's
pure functions (``score_sheet``, ``score_council``, ``integrity_flags``, ``outcome_of``,
``may_award``, ``certify``) with their value types, and the event models and envelope of
``ocop_contracts``. What is the service's own glue (summarising a result, mapping results and
certificates to events and to rows, the SQL) the baseline does with code of its own, not the
service's (``usecases``, ``publishing``, ``store``), so that it stays an independent floor and
a change in that glue shows as a disagreement below rather than moving both sides alike. The
service's use cases serve only the set-up (``enter_application``, the evaluation clock).

For 2 and 3: the request's wall time, products/s, and events/s of the outbox rows it staged;
then end to end, until its events are on Kafka: for the service, until the relay's
``published_at`` on the last of them; for the baseline, its transaction plus a raw publish of its
outbox rows (one query, one aiokafka producer with the service's credentials sending every
record with the same CloudEvents headers without awaiting each, one ``UPDATE``). Both sides
must agree before anything is printed: the same status, result summary and next-level entry per
application, the same certificates (numbers included), and the same events, compared field by
field (topic, type, source, key and payload, ignoring event ids, times and the new
certificates' ids, in any order). Between repetitions (``OCOP_BENCH_ROUNDS``, median reported)
both rounds are reopened by SQL. The ratio (ocop time / raw time) is what to watch; 1.0 is the
floor.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.common import (
    Answer,
    InProcess,
    bench_settings,
    quiet_faststream,
    report,
    skip_app_history,
)
from ocop_contracts import Envelope, Event
from ocop_contracts.envelope import source
from ocop_contracts.events import evaluation as contract
from ocop_contracts.events import registry as registry_events
from ocop_evaluation import domain
from ocop_evaluation.app import MIGRATIONS, create_app
from ocop_evaluation.settings import EvaluationSettings
from ocop_evaluation.usecases import Evaluation
from ocop_registry.domain.classification import Scheme, product_sets
from ocop_runtime.auth import Role
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.outbox import kafka_producer
from ocop_runtime.testing import bearer, running, wait_until

ROUND_SIZE = int(os.environ.get("OCOP_BENCH_ROUND_SIZE", "600"))
WARMUP = int(os.environ.get("OCOP_BENCH_WARMUP", "30"))
REPEATS = int(os.environ.get("OCOP_BENCH_ROUNDS", "3"))
SEED = 2024
MEMBERS = [f"hoi-dong-{i}" for i in range(1, 6)]
# The last member comes from this commune: its products raise conflict-of-interest flags.
CONFLICT_UNIT = "00280"
COMMUNES = [CONFLICT_UNIT, *(f"{n:05d}" for n in range(4, 4 + 3 * 29, 3))]
OVERRIDE = "Thành viên hoi-dong-5 không chấm sản phẩm của xã mình (biên bản họp hội đồng)"
DECISION_NUMBER = "1147/QĐ-UBND"
# (lowest share, highest share, weight) of each criterion's maximum a product gets.
SHARES = [(0.36, 0.5, 15), (0.5, 0.7, 40), (0.7, 0.9, 35), (0.9, 0.98, 10)]
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
PARTS = ("A", "B", "C")  # the parts of every score sheet
# The entry's status after closing, by outcome; every other outcome leaves it scored.
_CLOSED_STATUS = {"not_recognised": "not_recognised", "forward": "forwarded"}

_OUTBOX_INSERT = (
    "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload,"
    " traceparent, tracestate) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
_SHEET_INSERT = (
    "INSERT INTO score_sheets VALUES ($1, $2, $3, $4::jsonb, $5)"
    " ON CONFLICT (round_id, application_id, member_id)"
    " DO UPDATE SET points = EXCLUDED.points, submitted_at = EXCLUDED.submitted_at"
)
_ONWARD_COLUMNS = (
    "application_id",
    "product_id",
    "producer_id",
    "kind",
    "regime",
    "product_set",
    "commune_code",
    "district_code",
    "round_year",
    "level",
    "submitted_on",
    "round_id",
)
_ONWARD_TYPES = ("uuid", "uuid", "uuid", *["text"] * 5, "int", "text", "date", "uuid")
_ONWARD_INSERT = (
    f"INSERT INTO entries ({', '.join(_ONWARD_COLUMNS)}, status, created_at)"
    " SELECT *, CASE WHEN round_id IS NULL THEN 'waiting' ELSE 'entered' END,"
    f" ${len(_ONWARD_COLUMNS) + 1}::timestamptz FROM unnest("
    + ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(_ONWARD_TYPES))
    + f") AS t({', '.join(_ONWARD_COLUMNS)})"
    " ON CONFLICT (application_id, level) DO NOTHING"
    " RETURNING application_id, product_id, level, round_id"
)
_CERTIFICATE_COLUMNS = (
    "id, number, product_id, application_id, star, level, score, decision_number,"
    " decision_date, valid_until, rulebook, rulebook_version, replaces, state, ended_on,"
    " replaced_by, replacement, revocation, notices_sent, issued_at"
)


# ---------------------------------------------------------------- helpers


def _pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


def _outbox_rows(events: list[Event], at: datetime) -> list[tuple[Any, ...]]:
    """What ``stage_events`` writes, without a trace (the baseline opens no spans)."""
    return [
        (
            uuid4(),
            e.TOPIC,
            e.key(),
            e.CE_TYPE,
            source(e.SERVICE),
            at,
            e.model_dump_json(),
            None,
            None,
        )
        for e in events
    ]


async def _outbox_mark(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def _staged_since(pool: asyncpg.Pool, mark: int) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE id > $1", mark))


async def _published(pool: asyncpg.Pool, mark: int) -> datetime:
    """Wait until the relay has published every row after ``mark``; when it stamped the last."""

    async def drained() -> bool:
        return not await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL AND id > $1", mark
        )

    await wait_until(drained, timeout_seconds=60, interval=0.05, what="the relay to drain")
    last: datetime = await pool.fetchval("SELECT max(published_at) FROM outbox WHERE id > $1", mark)
    return last


# ---------------------------------------------------------------- set-up


@dataclass
class Product:
    event: registry_events.ApplicationSubmitted
    sheets: dict[str, dict[str, str]]  # member -> criterion -> points


def _products(n: int, year: int, today: date) -> list[Product]:
    rng = random.Random(SEED)
    sets = product_sets(Scheme.S148)
    out = []
    for i in range(n):
        product_set = rng.choice(sets)
        event = registry_events.ApplicationSubmitted(
            application_id=uuid4(),
            product_id=uuid4(),
            producer_id=uuid4(),
            producer_legal_form=registry_events.LegalForm.COOPERATIVE,
            producer_name=f"HTX số {i}",
            product_name=f"Sản phẩm {i}",
            public_code=f"HN-{i:06d}",
            kind=registry_events.ApplicationKind.FIRST_TIME,
            regime="1489",
            classification="148",
            product_set=product_set.code,
            sector=product_set.sector_code,
            statistics_sector=product_set.sector_code,
            commune_code=CONFLICT_UNIT if rng.random() < 0.03 else rng.choice(COMMUNES[1:]),
            district_code=None,
            round_year=year,
            self_assessment_score=70,
            documents=[],
            submitted_at=datetime.now(UTC),
        )
        # A 2024-like spread: some not recognised, most 3-4★, a few nominated for 5★.
        low, high = rng.choices(SHARES, weights=[w for _, _, w in SHARES])[0][:2]
        share = rng.uniform(low, high)
        sheet = domain.score_sheet(product_set.code, today)
        # A few products lack a mandatory criterion (no member saw any evidence for it).
        lacking = (
            rng.choice([c.id for c in sheet.criteria if c.requirements])
            if rng.random() < 0.05
            else None
        )
        sheets = {
            member: {
                c.id: str(
                    Decimal(0)
                    if c.id == lacking
                    else (c.max_points * Decimal(str(min(1.0, share + rng.uniform(-0.04, 0.04)))))
                    .quantize(Decimal("0.01"))
                    .min(c.max_points)
                )
                for c in sheet.criteria
            }
            for member in MEMBERS
        }
        out.append(Product(event, sheets))
    return out


async def _copy_round(app_pool: asyncpg.Pool, raw_pool: asyncpg.Pool, round_id: UUID) -> None:
    """The round, its council and its entries, row for row, into the raw schema."""
    async with raw_pool.acquire() as raw, raw.transaction():
        for table, where in (
            ("rounds", "id = $1"),
            ("council_members", "round_id = $1"),
            ("entries", "round_id = $1"),
        ):
            rows = await app_pool.fetch(f"SELECT * FROM {table} WHERE {where}", round_id)
            columns = list(rows[0].keys())
            values = ", ".join(f"${i + 1}" for i in range(len(columns)))
            await raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})",
                [tuple(r) for r in rows],
            )


@dataclass
class Latencies:
    ocop: list[float]
    raw: list[float]
    wall: float = 0.0


async def _submit_sheets(
    client: InProcess,
    raw_pool: asyncpg.Pool,
    round_id: UUID,
    products: list[Product],
) -> Latencies:
    headers = {m: bearer(Role.COUNCIL_MEMBER, subject=m) for m in MEMBERS}
    out = Latencies([], [])
    started = time.perf_counter()
    n = 0
    async with raw_pool.acquire() as raw:
        for product in products:
            aid = product.event.application_id
            for member in MEMBERS:
                points = product.sheets[member]
                o_time, response = await _timed(
                    partial(
                        client.put,
                        f"/rounds/{round_id}/sheets/{aid}",
                        json={"points": points},
                        headers=headers[member],
                    )
                )
                if response.status_code != 200:
                    raise AssertionError(f"sheet refused: {response.text}")
                r_time, _ = await _timed(
                    partial(
                        raw.execute,
                        _SHEET_INSERT,
                        round_id,
                        aid,
                        member,
                        json.dumps(points),
                        datetime.now(HANOI),
                    )
                )
                if n >= WARMUP:
                    out.ocop.append(o_time)
                    out.raw.append(r_time)
                n += 1
    out.wall = time.perf_counter() - started
    return out


async def _http_floor(client: InProcess) -> list[float]:
    """The same HTTP stack around no work: what any request costs before its handler runs."""
    out = []
    for i in range(WARMUP + 300):
        elapsed, response = await _timed(partial(client.get, "/healthz"))
        response.raise_for_status()
        if i >= WARMUP:
            out.append(elapsed)
    return out


async def _round_trips(
    app: Any, client: InProcess, round_id: UUID, product: Product, member: str
) -> list[str]:
    """The statements one score sheet sends to PostgreSQL (BEGIN and COMMIT included), each a
    round trip: counted with asyncpg's query logger on every connection of the app's pool."""
    pool: asyncpg.Pool = app.state.ctx.pool
    seen: list[str] = []

    def log(query: Any) -> None:
        seen.append(" ".join(query.query.split())[:80])

    connections = [h._con for h in pool._holders if h._con is not None]
    for conn in connections:
        conn.add_query_logger(log)
    try:
        aid = product.event.application_id
        response = await client.put(
            f"/rounds/{round_id}/sheets/{aid}",
            json={"points": product.sheets[member]},
            headers=bearer(Role.COUNCIL_MEMBER, subject=member),
        )
        assert response.status_code == 200, response.text
    finally:
        for conn in connections:
            conn.remove_query_logger(log)
    return seen


# ---------------------------------------------------------------- the raw baselines


def _summary(
    result: domain.CouncilResult, outcome: domain.Outcome, flags: Sequence[domain.IntegrityFlag]
) -> tuple[dict[str, float], dict[str, Any], str]:
    """The baseline's own account of one product's result: the average points per part, the
    summary kept on the entry, and the entry's status."""
    totals = dict.fromkeys(PARTS, Decimal(0))
    for c in result.sheet.criteria:
        totals[c.part.value] += result.criterion_averages[c.id]
    summary = {
        "score": str(result.score),
        "star": result.star,
        "outcome": outcome.kind.value,
        "outcome_star": outcome.star,
        "to_level": outcome.to_level.value if outcome.to_level else None,
        "certify_level": outcome.level.value,
        "power": (outcome.power or outcome.level).value,
        "rulebook": result.rulebook.id,
        "rulebook_version": result.rulebook.version,
        "flags": [f.kind.value for f in flags],
    }
    status = _CLOSED_STATUS.get(outcome.kind.value, "scored")
    return {part: float(total) for part, total in totals.items()}, summary, status


def _certified(
    c: domain.Certificate, number: str, application_id: UUID, at: datetime
) -> contract.ProductCertified:
    """The baseline's own ``ProductCertified`` for a first certificate."""
    return contract.ProductCertified(
        certificate_id=c.id,
        certificate_number=number,
        product_id=c.product_id,
        application_id=application_id,
        star=c.star,
        score=float(c.score) if c.score is not None else None,
        level=contract.Level(c.level.value),
        decision_number=c.decision_number,
        decision_date=c.decision_date,
        valid_from=c.decision_date,
        valid_until=c.valid_until,
        rulebook=c.rulebook.id,
        issued_at=at,
    )


async def _raw_close(pool: asyncpg.Pool, round_id: UUID, override: str) -> int:
    """Close the raw round: what ``Evaluation.close_round`` does, in as few round trips."""
    async with pool.acquire() as conn, conn.transaction():
        level = domain.Level(
            await conn.fetchval("SELECT level FROM rounds WHERE id = $1 FOR UPDATE", round_id)
        )
        entries = await conn.fetch(
            "SELECT * FROM entries WHERE round_id = $1"
            " AND status NOT IN ('withdrawn', 'returned') ORDER BY created_at, application_id",
            round_id,
        )
        open_rounds = {
            (r["year"], r["level"]): r["id"]
            for r in await conn.fetch("SELECT year, level, id FROM rounds WHERE status = 'open'")
        }
        members = await conn.fetch(
            "SELECT member_id, unit_code FROM council_members WHERE round_id = $1"
            " ORDER BY role, member_id",
            round_id,
        )
        sheets: dict[UUID, list[domain.MemberScores]] = {}
        for s in await conn.fetch(
            "SELECT application_id, member_id, points FROM score_sheets WHERE round_id = $1",
            round_id,
        ):
            points = {k: Decimal(v) for k, v in json.loads(s["points"]).items()}
            sheets.setdefault(s["application_id"], []).append(
                domain.MemberScores(s["member_id"], points)
            )
        council = [domain.CouncilMember(m["member_id"], m["unit_code"] or "") for m in members]
        now = datetime.now(HANOI)
        updates: list[tuple[UUID, str, str, str]] = []
        onward: list[tuple[Any, ...]] = []  # entries at the next level, as columns
        events: list[Event] = []
        for e in entries:
            aid = e["application_id"]
            sheet = domain.score_sheet(e["product_set"], e["submitted_on"])
            result = domain.score_council(sheet, sheets[aid])
            units = [u for u in (e["commune_code"], e["district_code"]) if u]
            flags = domain.integrity_flags(result, council, units)
            outcome = domain.outcome_of(result, level)
            parts, summary, status = _summary(result, outcome, flags)
            updates.append((aid, level.value, status, json.dumps(summary)))
            if outcome.to_level is not None:
                to = outcome.to_level.value
                nominated = outcome.kind is domain.OutcomeKind.NOMINATE
                onward.append(
                    (
                        *(e[k] for k in _ONWARD_COLUMNS[:3]),
                        "upgrade" if nominated else e["kind"],
                        *(e[k] for k in _ONWARD_COLUMNS[4:9]),
                        to,
                        e["submitted_on"],
                        open_rounds.get((e["round_year"], to)),
                    )
                )
            events.append(
                contract.ProductScored(
                    application_id=aid,
                    product_id=e["product_id"],
                    round_id=round_id,
                    level=contract.Level(level.value),
                    score=float(result.score),
                    parts=parts,
                    band=result.band,
                    star=result.star,
                    outcome=outcome.kind.value,
                    outcome_star=outcome.star,
                    forwarded_to=contract.Level(outcome.to_level.value)
                    if outcome.to_level
                    else None,
                    rulebook=result.rulebook.id,
                    rulebook_version=result.rulebook.version,
                    flags=[f"{f.kind.value}: {f.detail}" for f in flags],
                    reasons=list(result.reasons),
                    scored_at=now,
                )
            )
            if outcome.kind is domain.OutcomeKind.NOMINATE and outcome.to_level is not None:
                events.append(
                    contract.ProductNominated(
                        application_id=aid,
                        product_id=e["product_id"],
                        round_id=round_id,
                        score=float(result.score),
                        carried_star=outcome.star or 4,
                        to_level=contract.Level(outcome.to_level.value),
                        nominated_at=now,
                    )
                )
            if status == "not_recognised":
                events.append(
                    contract.ProductNotRecognised(
                        application_id=aid,
                        product_id=e["product_id"],
                        score=float(result.score),
                        reasons=[outcome.reason, *result.reasons],
                        decided_at=now,
                    )
                )
        await conn.executemany(
            "UPDATE entries SET status = $3, result = $4::jsonb"
            " WHERE application_id = $1 AND level = $2",
            updates,
        )
        if onward:
            # Forwarded and nominated dossiers join the next level's round (or wait for it).
            entered = await conn.fetch(
                _ONWARD_INSERT, *(list(c) for c in zip(*onward, strict=True)), now
            )
            events += [
                contract.ApplicationAccepted(
                    application_id=r["application_id"],
                    product_id=r["product_id"],
                    round_id=r["round_id"],
                    level=contract.Level(r["level"]),
                    accepted_at=datetime.now(HANOI),
                )
                for r in entered
                if r["round_id"] is not None
            ]
        await conn.executemany(_OUTBOX_INSERT, _outbox_rows(events, datetime.now(UTC)))
        await conn.execute(
            "UPDATE rounds SET status = 'closed', closed_at = $2, override = $3 WHERE id = $1",
            round_id,
            now,
            override,
        )
    return len(entries)


async def _raw_decide(pool: asyncpg.Pool, round_id: UUID, number: str, day: date) -> int:
    """Record the decision on the raw round: what ``Evaluation.decide`` does, batched."""
    async with pool.acquire() as conn, conn.transaction():
        level = domain.Level(
            await conn.fetchval("SELECT level FROM rounds WHERE id = $1 FOR UPDATE", round_id)
        )
        entries = [
            e
            for e in await conn.fetch(
                "SELECT application_id, product_id, kind, submitted_on, result FROM entries"
                " WHERE round_id = $1 AND status = 'scored' ORDER BY created_at, application_id",
                round_id,
            )
            if json.loads(e["result"])["outcome_star"] is not None
        ]
        held = await conn.fetch(
            "SELECT product_id FROM certificates WHERE product_id = ANY($1::uuid[]) FOR UPDATE",
            [e["product_id"] for e in entries],
        )
        if held or any(e["kind"] != "first_time" for e in entries):
            raise NotImplementedError("the baseline grants first certificates only")
        now = datetime.now(HANOI)
        last = await conn.fetchval(
            "INSERT INTO certificate_numbers VALUES ($1, $2) ON CONFLICT (year) DO UPDATE"
            " SET last_sequence = certificate_numbers.last_sequence + $2"
            " RETURNING last_sequence",
            day.year,
            len(entries),
        )
        first = last - len(entries) + 1
        certificates: list[tuple[Any, ...]] = []
        events: list[Event] = []
        for sequence, e in enumerate(entries, start=first):
            result = json.loads(e["result"])
            star = int(result["outcome_star"])
            permission = domain.may_award(level, star, e["submitted_on"])
            if not permission:
                raise AssertionError(f"{star}★ refused at {level}: {permission.reason}")
            grant = domain.Grant(
                certificate_id=uuid4(),
                star=star,
                level=level,
                decision_number=number,
                decision_date=day,
                rulebook=domain.RulebookRef(result["rulebook"], int(result["rulebook_version"])),
                score=Decimal(result["score"]),
            )
            _, changes = domain.certify(domain.ProductCertificates(e["product_id"]), grant)
            certificate_number = f"{sequence:05d}/{day.year}/GCN-OCOP-HN"
            for change in changes:
                assert isinstance(change, domain.ProductCertified)
                c = change.certificate
                certificates.append(
                    (
                        c.id,
                        certificate_number,
                        c.product_id,
                        e["application_id"],
                        c.star,
                        c.level.value,
                        c.score,
                        c.decision_number,
                        c.decision_date,
                        c.valid_until,
                        c.rulebook.id,
                        c.rulebook.version,
                        None,
                        c.state.value,
                        None,
                        None,
                        None,
                        None,
                        [],
                        now,
                    )
                )
                events.append(_certified(c, certificate_number, e["application_id"], now))
        values = ", ".join(f"${i + 1}" for i in range(len(_CERTIFICATE_COLUMNS.split(","))))
        await conn.executemany(
            f"INSERT INTO certificates ({_CERTIFICATE_COLUMNS}) VALUES ({values})", certificates
        )
        await conn.executemany(
            "UPDATE entries SET status = 'certified' WHERE application_id = $1 AND level = $2",
            [(e["application_id"], level.value) for e in entries],
        )
        await conn.executemany(_OUTBOX_INSERT, _outbox_rows(events, datetime.now(UTC)))
        await conn.execute(
            "UPDATE rounds SET status = 'decided', decision_number = $2, decision_date = $3"
            " WHERE id = $1",
            round_id,
            number,
            day,
        )
    return len(certificates)


async def _raw_publish(pool: asyncpg.Pool, producer: AIOKafkaProducer) -> int:
    """The relay's work as the floor: one read, every record sent unawaited, one stamp."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id, event_id, topic, key, ce_type, ce_source, ce_time, payload FROM outbox"
            " WHERE published_at IS NULL ORDER BY id"
        )
        futures = [
            await producer.send(
                r["topic"],
                value=r["payload"].encode(),
                key=r["key"].encode(),
                headers=Envelope(
                    id=str(r["event_id"]),
                    type=r["ce_type"],
                    source=r["ce_source"],
                    time=r["ce_time"],
                    subject=r["key"],
                ).to_headers(),
            )
            for r in rows
        ]
        await asyncio.gather(*futures)
        await conn.execute(
            "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
    return len(rows)


async def _reopen(pool: asyncpg.Pool, round_id: UUID) -> None:
    """Undo a closing and a decision (between repetitions; the same on both sides)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM certificates WHERE application_id IN"
            " (SELECT application_id FROM entries WHERE round_id = $1)",
            round_id,
        )
        await conn.execute("DELETE FROM certificate_numbers")
        await conn.execute(
            "DELETE FROM entries WHERE round_id IS DISTINCT FROM $1 AND application_id IN"
            " (SELECT application_id FROM entries WHERE round_id = $1)",
            round_id,
        )
        await conn.execute(
            "UPDATE entries SET status = 'entered', result = NULL WHERE round_id = $1", round_id
        )
        await conn.execute(
            "UPDATE rounds SET status = 'open', closed_at = NULL, override = NULL,"
            " decision_number = NULL, decision_date = NULL WHERE id = $1",
            round_id,
        )


# ---------------------------------------------------------------- one step, both sides


@dataclass
class Step:
    name: str
    products: int
    events: int
    ocop: float
    ocop_e2e: float
    raw: float
    raw_events: int
    raw_publish: float


async def _step(
    name: str,
    products: int,
    ocop: Callable[[], Awaitable[Answer]],
    raw: Callable[[], Awaitable[int]],
    app_pool: asyncpg.Pool,
    raw_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
) -> tuple[Step, int]:
    mark = await _outbox_mark(app_pool)
    at = datetime.now(UTC)
    elapsed, response = await _timed(ocop)
    if response.status_code != 200:
        raise AssertionError(f"{name}: {response.status_code} {response.text}")
    events = await _staged_since(app_pool, mark)
    e2e = (await _published(app_pool, mark) - at).total_seconds()

    raw_mark = await _outbox_mark(raw_pool)
    raw_time, done = await _timed(raw)
    raw_events = await _staged_since(raw_pool, raw_mark)
    publish_time, published = await _timed(partial(_raw_publish, raw_pool, producer))
    assert published == raw_events, (published, raw_events)
    await _same_events(name, app_pool, mark, raw_pool, raw_mark)
    return Step(name, products, events, elapsed, e2e, raw_time, raw_events, publish_time), done


# Payload fields that differ between the two sides by construction: times, and the ids of new
# certificates (drawn afresh on each side).
_UNSHARED = ("certificate_id",)


async def _events(pool: asyncpg.Pool, mark: int) -> Counter[str]:
    """The events staged after ``mark``, each as its topic, type, source, key and payload
    without times or fresh ids, in canonical JSON."""
    rows = await pool.fetch(
        "SELECT topic, ce_type, ce_source, key, payload FROM outbox WHERE id > $1", mark
    )
    return Counter(
        json.dumps(
            [
                r["topic"],
                r["ce_type"],
                r["ce_source"],
                r["key"],
                {
                    k: v
                    for k, v in json.loads(r["payload"]).items()
                    if not k.endswith("_at") and k not in _UNSHARED
                },
            ],
            sort_keys=True,
        )
        for r in rows
    )


async def _same_events(
    name: str, app_pool: asyncpg.Pool, mark: int, raw_pool: asyncpg.Pool, raw_mark: int
) -> None:
    """Both sides staged the same events, field by field (in any order)."""
    ours, theirs = await _events(app_pool, mark), await _events(raw_pool, raw_mark)
    if ours != theirs:
        only_ours, only_theirs = ours - theirs, theirs - ours
        raise AssertionError(
            f"{name}: {sum(ours.values())} events from the service, {sum(theirs.values())} raw;"
            f" {sum(only_ours.values())} only from the service, e.g."
            f" {next(iter(only_ours), None)}; {sum(only_theirs.values())} only raw, e.g."
            f" {next(iter(only_theirs), None)}"
        )


async def _agree(app_pool: asyncpg.Pool, raw_pool: asyncpg.Pool, round_id: UUID) -> None:
    """The baseline did the same work: the same result per application, the same certificates,
    the round in the same state."""
    # Every entry of the round's applications, at every level (the nominated ones' next entry).
    # The decision's note on the result (its verdict and reason, in the rules' wording) is left
    # out: the status compared beside it carries the verdict.
    entries = (
        "SELECT application_id, level, kind, status, result - 'decision', round_id FROM entries"
        " WHERE application_id IN (SELECT application_id FROM entries WHERE round_id = $1)"
    )
    ours = {(r[0], r[1]): tuple(r)[2:] for r in await app_pool.fetch(entries, round_id)}
    theirs = {(r[0], r[1]): tuple(r)[2:] for r in await raw_pool.fetch(entries, round_id)}
    if ours != theirs:
        wrong = [a for a in ours.keys() | theirs.keys() if ours.get(a) != theirs.get(a)]
        raise AssertionError(
            f"{len(wrong)} entries differ, e.g. {wrong[0]}: {ours.get(wrong[0])}"
            f" / {theirs.get(wrong[0])}"
        )
    certificates = (
        "SELECT application_id, number, product_id, star, level, score, decision_number,"
        " decision_date, valid_until, rulebook, rulebook_version, state FROM certificates"
        " ORDER BY number"
    )
    a = [tuple(r) for r in await app_pool.fetch(certificates)]
    b = [tuple(r) for r in await raw_pool.fetch(certificates)]
    if a != b:
        differ = next((x, y) for x, y in itertools.zip_longest(a, b) if x != y)
        raise AssertionError(
            f"certificates differ: {len(a)} from the service, {len(b)} raw, e.g. {differ}"
        )
    rounds = "SELECT status, override, decision_number, decision_date FROM rounds WHERE id = $1"
    ours_round = tuple(await app_pool.fetchrow(rounds, round_id))
    theirs_round = tuple(await raw_pool.fetchrow(rounds, round_id))
    if ours_round != theirs_round:
        raise AssertionError(f"the rounds differ: {ours_round} / {theirs_round}")


# ---------------------------------------------------------------- main


async def main() -> int:
    quiet_faststream()
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    bootstrap = os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"]
    unique = uuid4().hex[:8]
    settings = bench_settings(EvaluationSettings, unique)
    raw_schema = f"evaluation_raw_{unique}"
    app = create_app(settings)
    evaluation: Evaluation = app.state.evaluation
    await skip_app_history(app, settings)

    raw_pool = await create_pool(database_url, raw_schema, min_size=1, max_size=2)
    app_pool = await create_pool(database_url, settings.db_schema, min_size=1, max_size=2)
    producer = kafka_producer(bootstrap, settings.kafka_auth(), client_id="ocop-bench-raw")
    await producer.start()
    try:
        async with raw_pool.acquire() as conn:
            await migrate(conn, raw_schema, MIGRATIONS)
        async with running(app) as http:
            client = InProcess(app, {"authorization": http.headers["authorization"]})
            today = (await evaluation.now(app_pool)).date()
            year = today.year
            products = _products(ROUND_SIZE, year, today)
            opened = await client.post(
                "/rounds", json={"year": year, "level": "city", "name": f"Thành phố {year}"}
            )
            assert opened.status_code == 201, opened.text
            round_id = UUID(opened.json()["id"])
            council = await client.put(
                f"/rounds/{round_id}/council",
                json={
                    "members": [
                        {
                            "member_id": m,
                            "name": f"Thành viên {i + 1}",
                            "role": "chair" if i == 0 else "member",
                            "unit_code": CONFLICT_UNIT if i == len(MEMBERS) - 1 else "01000",
                        }
                        for i, m in enumerate(MEMBERS)
                    ]
                },
            )
            assert council.status_code == 200, council.text
            async with app_pool.acquire() as conn, conn.transaction():
                for p in products:
                    await evaluation.enter_application(conn, p.event)
            await _copy_round(app_pool, raw_pool, round_id)

            sheets = await _submit_sheets(client, raw_pool, round_id, products)
            trips = await _round_trips(app, client, round_id, products[0], MEMBERS[0])
            floor = await _http_floor(client)
            await _published(app_pool, 0)  # the ApplicationAccepted events, before any timing
            closes: list[Step] = []
            decides: list[Step] = []
            for repetition in range(REPEATS):
                for pool in (app_pool, raw_pool):
                    if repetition:
                        await _reopen(pool, round_id)
                    for table in ("rounds", "entries", "score_sheets", "outbox", "certificates"):
                        await pool.execute(f"VACUUM ANALYZE {table}")
                close, closed = await _step(
                    "close round",
                    ROUND_SIZE,
                    partial(
                        client.post,
                        f"/rounds/{round_id}/closure",
                        json={"override_reason": OVERRIDE},
                    ),
                    partial(_raw_close, raw_pool, round_id, OVERRIDE),
                    app_pool,
                    raw_pool,
                    producer,
                )
                assert closed == ROUND_SIZE
                statuses = dict(
                    await app_pool.fetch(
                        "SELECT status, count(*) FROM entries WHERE round_id = $1 GROUP BY status",
                        round_id,
                    )
                )
                flags = await app_pool.fetchval(
                    "SELECT count(*) FROM entries WHERE round_id = $1"
                    " AND jsonb_array_length(result->'flags') > 0",
                    round_id,
                )
                outcomes = dict(
                    await app_pool.fetch(
                        "SELECT result->>'outcome', count(*) FROM entries WHERE round_id = $1"
                        " GROUP BY 1",
                        round_id,
                    )
                )
                decide, issued = await _step(
                    "record decision",
                    statuses.get("scored", 0),
                    partial(
                        client.post,
                        f"/rounds/{round_id}/decision",
                        json={
                            "decision_number": DECISION_NUMBER,
                            "decision_date": today.isoformat(),
                        },
                    ),
                    partial(_raw_decide, raw_pool, round_id, DECISION_NUMBER, today),
                    app_pool,
                    raw_pool,
                    producer,
                )
                stars = dict(
                    await app_pool.fetch("SELECT star, count(*) FROM certificates GROUP BY star")
                )
                await _agree(app_pool, raw_pool, round_id)
                assert issued == sum(stars.values()), (issued, stars)
                closes.append(close)
                decides.append(decide)
    finally:
        await producer.stop()
        await app_pool.close()
        await raw_pool.close()

    _report(sheets, floor, [closes, decides], outcomes, flags, stars)
    _rows(sheets, floor, trips, [closes, decides])
    return 0


def _report(
    sheets: Latencies,
    floor: list[float],
    steps: list[list[Step]],
    outcomes: dict[str, int],
    flags: int,
    stars: dict[int, int],
) -> None:
    med = statistics.median
    print("evaluation round: in-process ASGI (no network) vs raw asyncpg, same run and database")
    shown = ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items()))
    print(
        f"City round of {ROUND_SIZE} products (regime 1489), council of {len(MEMBERS)}:"
        f" outcomes {shown} (the nominated also enter the central level);"
        f" {flags} with integrity flags (closed with an override); certificates"
        f" {', '.join(f'{n} x {s}★' for s, n in sorted(stars.items()))}"
    )
    n = len(sheets.ocop)
    total = ROUND_SIZE * len(MEMBERS)
    print(
        f"Score sheets: {total:,} in {sheets.wall:.1f}s ({total / sheets.wall:,.0f}/s, ocop and"
        f" raw interleaved); ms over {n:,} after {WARMUP} warm-up"
    )
    print(f"  {'':<42} {'p50':>6} {'p99':>6}   {'raw p50':>7} {'p99':>6}   ratio p50  p99")
    o50, o99 = med(sheets.ocop), _pct(sheets.ocop, 0.99)
    r50, r99 = med(sheets.raw), _pct(sheets.raw, 0.99)
    print(
        f"  {'PUT /rounds/{id}/sheets/{application_id}':<42} {o50 * 1e3:>6.2f} {o99 * 1e3:>6.2f}"
        f"   {r50 * 1e3:>7.2f} {r99 * 1e3:>6.2f}   {o50 / r50:8.2f}x {o99 / r99:5.2f}x"
    )
    name = "GET /healthz (the HTTP stack, no work)"
    print(f"  {name:<42} {med(floor) * 1e3:>6.2f} {_pct(floor, 0.99) * 1e3:>6.2f}")
    print(
        f"Closing and deciding: one request each, median of {REPEATS} (the round reopened by SQL"
        " between); end to end: until its events are on Kafka (ocop: the relay's last stamp;"
        " raw: + a raw publish)"
    )
    print(
        f"  {'':<16} {'products':>8} {'events':>6}   {'time':>8} {'products/s':>10} {'events/s':>9}"
        f"   {'raw time':>8} {'events/s':>9}   ratio"
    )
    for runs in steps:
        first = runs[0]
        for r in runs:
            assert (r.events, r.raw_events) == (first.events, first.events), (r, first)
        products, events = first.products, first.events
        ocop, e2e = med([r.ocop for r in runs]), med([r.ocop_e2e for r in runs])
        raw, raw_e2e = med([r.raw for r in runs]), med([r.raw + r.raw_publish for r in runs])
        for label, ours, theirs in ((first.name, ocop, raw), ("  end to end", e2e, raw_e2e)):
            print(
                f"  {label:<16} {products:>8,} {events:>6,}   {ours * 1e3:>6.0f}ms"
                f" {products / ours:>10,.0f} {events / ours:>9,.0f}"
                f"   {theirs * 1e3:>6.0f}ms {events / theirs:>9,.0f}   {ours / theirs:5.2f}x"
            )


def _rows(sheets: Latencies, floor: list[float], trips: list[str], steps: list[list[Step]]) -> None:
    med = statistics.median
    sizes: dict[str, Any] = {"products": ROUND_SIZE, "members": len(MEMBERS)}
    o50, r50 = med(sheets.ocop) * 1e3, med(sheets.raw) * 1e3
    report("score sheet p50", "ms", ocop=o50, raw=r50, sizes=sizes, limit=1.5)
    o99, r99 = _pct(sheets.ocop, 0.99) * 1e3, _pct(sheets.raw, 0.99) * 1e3
    report("score sheet p99", "ms", ocop=o99, raw=r99, sizes=sizes)
    print(f"One score sheet: {len(trips)} statements: " + " | ".join(trips))
    report("score sheet DB round trips", "statements", ocop=len(trips), raw=1, limit=3)
    report(
        "GET /healthz p50 (evaluation)",
        "ms",
        ocop=med(floor) * 1e3,
        raw=None,
        sizes={"requests": len(floor)},
        limit=0.3,
    )
    for runs in steps:
        name = runs[0].name
        sizes = {"products": runs[0].products, "events": runs[0].events, "repeats": len(runs)}
        ours, theirs = med([r.ocop for r in runs]), med([r.raw for r in runs])
        report(name, "ms", ocop=ours * 1e3, raw=theirs * 1e3, sizes=sizes)
        ours, theirs = med([r.ocop_e2e for r in runs]), med([r.raw + r.raw_publish for r in runs])
        report(f"{name}, until on Kafka", "ms", ocop=ours * 1e3, raw=theirs * 1e3, sizes=sizes)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
