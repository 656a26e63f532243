"""Benchmark: the history import of a few thousand certificate decisions against raw asyncpg
writing the same rows and outbox events, same run.

The evaluation service runs in-process as in the tests (``create_app`` + ``running``: pool,
migrations, consumer, outbox relay on the bench stack) and is called as an ASGI app
(``bench.common.InProcess``). The baseline works on a second schema migrated with the service's
own migrations.

Set-up: the demonstration scenario (``ocop_registry.demo``, ``OCOP_BENCH_HISTORY_PRODUCTS``
products, 2,500 by default: about 3,000 decisions since 2019) gives the products and their
decisions. Evaluation's copies of those products are written to both schemas by SQL (the
consumer's work, not measured), and the decisions become one CSV of evaluation's import.

Measured: ``POST /imports/certificates`` with the whole file, against the baseline doing the same
work in one transaction on one connection: the CSV read with ``csv``, every row checked and
applied with the domain's pure rules (``history.parse_row``, ``history.apply_row``, ``expire``),
the products and their certificates read with one query each, certificate numbers reserved with
one statement a year, then certificates, history rows, nominations and its own contract events
(built from ``ocop_contracts`` models, staged as outbox rows) written with one ``executemany``
each. What the sides share is the rules and the published contract; the SQL, the numbering and
the mapping to rows and events are the baseline's own. Both sides must agree before anything is
reported: the same certificates (star, level, dates, state, end, score, rulebook, by product and
decision number), the same history rows and nominations, and the same events compared field by
field (ignoring ids, certificate numbers and times). Between repetitions (``OCOP_BENCH_ROUNDS``,
median reported) both schemas are emptied of what the import wrote.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from datetime import time as day_start
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from bench.common import InProcess, bench_settings, quiet_faststream, report, skip_app_history
from ocop_contracts import Event
from ocop_contracts.envelope import source
from ocop_contracts.events import evaluation as contract
from ocop_evaluation import domain
from ocop_evaluation.app import MIGRATIONS, create_app
from ocop_evaluation.domain import history
from ocop_evaluation.domain.rulebooks import load_rulebooks
from ocop_evaluation.settings import EvaluationSettings
from ocop_registry import demo
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.testing import running

PRODUCTS = int(os.environ.get("OCOP_BENCH_HISTORY_PRODUCTS", "2500"))
REPEATS = int(os.environ.get("OCOP_BENCH_ROUNDS", "3"))
SEED = 2019
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
_TABLES = ("certificates", "history_rows", "nominations", "certificate_numbers")
_OUTBOX_INSERT = (
    "INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload,"
    " traceparent, tracestate) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
_CERTIFICATE_INSERT = (
    "INSERT INTO certificates (id, number, product_id, application_id, star, level, score,"
    " decision_number, decision_date, valid_until, rulebook, rulebook_version, replaces, state,"
    " ended_on, replaced_by, replacement, revocation, notices_sent, issued_at) VALUES ($1, $2,"
    " $3, NULL, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb, '{}',"
    " $18)"
)
# Payload fields that differ by construction: fresh ids, numbers and times.
_UNSHARED = {"certificate_id", "certificate_number", "replaces_certificate_id"}


def _files(today: date) -> tuple[list[tuple[UUID, str, str]], str]:
    """Product copies (id, public code, product set) and the import file."""
    products = demo.scenario(PRODUCTS, seed=SEED, today=today)
    copies: list[tuple[UUID, str, str]] = []
    rows: list[dict[str, str]] = []
    for i, p in enumerate(products):
        code = f"01-{p.row['commune_code']}-{i + 1:04d}-{p.row['registered_on'][:4]}"
        copies.append((uuid4(), code, p.row["product_set"]))
        rows += [{**r, "public_code": code} for r in p.history]
    return copies, demo.to_csv(rows, demo.HISTORY_COLUMNS)


async def _copy_products(pool: asyncpg.Pool, copies: list[tuple[UUID, str, str]]) -> None:
    producer = uuid4()
    await pool.executemany(
        "INSERT INTO products (product_id, producer_id, name, public_code, classification,"
        " product_set, commune_code, district_code, version) VALUES ($1, $2, $3, $4, $5, $6,"
        " '00004', '001', 1)",
        [
            (pid, producer, f"Sản phẩm {code}", code, "1048" if s.startswith("1048.") else "148", s)
            for pid, code, s in copies
        ],
    )


async def _empty(pool: asyncpg.Pool) -> None:
    for table in _TABLES:
        await pool.execute(f"DELETE FROM {table}")
    for table in (*_TABLES, "outbox"):
        await pool.execute(f"VACUUM ANALYZE {table}")


# ---------------------------------------------------------------- the baseline's own code


def _issued(c: domain.Certificate, number: str, at: datetime) -> dict[str, Any]:
    return {
        "certificate_id": c.id,
        "certificate_number": number,
        "product_id": c.product_id,
        "star": c.star,
        "score": float(c.score) if c.score is not None else None,
        "level": contract.Level(c.level.value),
        "decision_number": c.decision_number,
        "decision_date": c.decision_date,
        "valid_from": c.decision_date,
        "valid_until": c.valid_until,
        "rulebook": c.rulebook.id,
        "issued_at": at,
    }


def _event(change: Any, numbers: dict[UUID, str], at: datetime) -> Event:
    if isinstance(change, domain.ProductCertified):
        c = change.certificate
        return contract.ProductCertified(**_issued(c, numbers[c.id], at))
    if isinstance(change, domain.CertificateReevaluated | domain.CertificateUpgraded):
        c = change.certificate
        kind = (
            contract.CertificateUpgraded
            if isinstance(change, domain.CertificateUpgraded)
            else contract.CertificateReevaluated
        )
        return kind(**_issued(c, numbers[c.id], at), replaces_certificate_id=change.replaces)
    if isinstance(change, domain.CertificateExpired):
        return contract.CertificateExpired(
            certificate_id=change.certificate_id,
            product_id=change.product_id,
            expired_on=change.expired_on,
        )
    r = change.revocation
    return contract.CertificateRevoked(
        certificate_id=change.certificate_id,
        product_id=change.product_id,
        grounds=[contract.RevocationGround(g.value) for g in r.grounds],
        decision_number=r.decision_number,
        decision_date=r.decision_date,
        revoked_on=r.revoked_on,
        ground_codes=[g.value for g in r.grounds],
    )


async def _raw_import(pool: asyncpg.Pool, text: str, today: date) -> int:
    books = load_rulebooks()
    raw = [
        {k.strip().lower(): (v or "").strip() for k, v in r.items()}
        for r in csv.DictReader(io.StringIO(text))
    ]
    parsed = [history.parse_row(i, r, books, today) for i, r in enumerate(raw, start=2)]
    now = datetime.now(HANOI)
    async with pool.acquire() as conn, conn.transaction():
        ids = {
            r["public_code"]: r["product_id"]
            for r in await conn.fetch(
                "SELECT product_id, public_code FROM products WHERE public_code = ANY($1::text[])",
                sorted({p.product.public_code or "" for p in parsed}),
            )
        }
        by_product: dict[UUID, list[history.HistoryRow]] = defaultdict(list)
        for p in parsed:
            by_product[ids[p.product.public_code or ""]].append(p)
        await conn.fetch(
            "SELECT id FROM certificates WHERE product_id = ANY($1::uuid[]) FOR UPDATE",
            list(by_product),
        )
        certificates: list[tuple[domain.Certificate, datetime]] = []
        changes: list[Any] = []
        rows: list[tuple[Any, ...]] = []
        nominations: list[tuple[Any, ...]] = []
        per_year: dict[int, list[UUID]] = defaultdict(list)
        offset = 0
        for pid, product_rows in by_product.items():
            state = history.ProductHistory(domain.ProductCertificates(pid))
            issued: dict[UUID, datetime] = {}
            for row in history.in_order(product_rows):
                cid = uuid4()
                state, done = history.apply_row(state, row, cid)
                changes += done
                granted = row.action in history.GRANTS
                if granted:
                    per_year[row.decision_date.year].append(cid)
                    issued[cid] = datetime.combine(row.decision_date, day_start(), HANOI) + (
                        timedelta(microseconds=offset)
                    )
                    offset += 1
                rows.append((pid, row.decision_number, row.action.value, row.decision_date))
            final, expired = domain.expire(state.certificates, today)
            changes += expired
            certificates += [(c, issued[c.id]) for c in final.certificates]
            nominations += [
                (
                    pid,
                    n.decision_number,
                    n.decision_date,
                    n.to_level.value,
                    n.score,
                    n.outcome,
                    n.outcome_decision,
                    n.outcome_date,
                )
                for n in state.nominations
            ]
        numbers: dict[UUID, str] = {}
        for year, cids in sorted(per_year.items()):
            last = await conn.fetchval(
                "INSERT INTO certificate_numbers VALUES ($1, $2) ON CONFLICT (year) DO UPDATE"
                " SET last_sequence = certificate_numbers.last_sequence + $2"
                " RETURNING last_sequence",
                year,
                len(cids),
            )
            first = int(last) - len(cids) + 1
            numbers.update(
                {cid: f"{first + i:05d}/{year}/GCN-OCOP-HN" for i, cid in enumerate(cids)}
            )
        await conn.executemany(
            _CERTIFICATE_INSERT,
            [
                (
                    c.id,
                    numbers[c.id],
                    c.product_id,
                    c.star,
                    c.level.value,
                    c.score,
                    c.decision_number,
                    c.decision_date,
                    c.valid_until,
                    c.rulebook.id,
                    c.rulebook.version,
                    c.replaces,
                    c.state.value,
                    c.ended_on,
                    c.replaced_by,
                    c.replacement.value if c.replacement else None,
                    json.dumps(
                        {
                            "grounds": [g.value for g in c.revocation.grounds],
                            "decision_number": c.revocation.decision_number,
                            "decision_date": c.revocation.decision_date.isoformat(),
                            "revoked_on": c.revocation.revoked_on.isoformat(),
                        }
                    )
                    if c.revocation
                    else None,
                    at,
                )
                for c, at in certificates
            ],
        )
        await conn.executemany(
            "INSERT INTO history_rows (product_id, decision_number, action, decision_date,"
            " fingerprint, imported_at) VALUES ($1, $2, $3, $4, '', $5)",
            [(*r, now) for r in rows],
        )
        await conn.executemany(
            "INSERT INTO nominations VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", nominations
        )
        events = [_event(c, numbers, now) for c in changes]
        await conn.executemany(
            _OUTBOX_INSERT,
            [
                (
                    uuid4(),
                    e.TOPIC,
                    e.key(),
                    e.CE_TYPE,
                    source(e.SERVICE),
                    now,
                    e.model_dump_json(),
                    None,
                    None,
                )
                for e in events
            ],
        )
    return len(events)


# ---------------------------------------------------------------- agreement


async def _mark(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def _state(pool: asyncpg.Pool, mark: int) -> tuple[Counter[str], Counter[str], Counter[str]]:
    certificates = Counter(
        json.dumps([str(v) for v in r.values()])
        for r in await pool.fetch(
            "SELECT product_id, decision_number, star, level, score, decision_date, valid_until,"
            " rulebook, rulebook_version, state, ended_on, replacement, revocation,"
            " number LIKE '%/GCN-OCOP-HN' AS numbered FROM certificates"
        )
    )
    rows = Counter(
        json.dumps([str(v) for v in r.values()])
        for r in await pool.fetch(
            "SELECT product_id, decision_number, action, decision_date FROM history_rows"
            " UNION ALL SELECT product_id, decision_number, coalesce(outcome, 'open'),"
            " decision_date FROM nominations"
        )
    )
    events = Counter(
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
        for r in await pool.fetch(
            "SELECT topic, ce_type, ce_source, key, payload FROM outbox WHERE id > $1", mark
        )
    )
    return certificates, rows, events


async def _agree(
    app_pool: asyncpg.Pool, app_mark: int, raw_pool: asyncpg.Pool, raw_mark: int
) -> None:
    ours, theirs = await _state(app_pool, app_mark), await _state(raw_pool, raw_mark)
    for name, a, b in zip(("certificates", "history rows", "events"), ours, theirs, strict=True):
        if a != b:
            raise AssertionError(
                f"{name}: {sum(a.values())} from the service, {sum(b.values())} raw; only the"
                f" service: {next(iter(a - b), None)}; only raw: {next(iter(b - a), None)}"
            )


async def main() -> int:
    quiet_faststream()
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    unique = uuid4().hex[:8]
    settings = bench_settings(EvaluationSettings, unique)
    # The products are evaluation's copies written below: none of the registry's events that
    # earlier benchmarks published (public codes of the same form) may join them.
    raw_schema = f"evaluation_raw_{unique}"
    app = create_app(settings)
    await skip_app_history(app, settings)
    raw_pool = await create_pool(database_url, raw_schema, min_size=1, max_size=2)
    app_pool = await create_pool(database_url, settings.db_schema, min_size=1, max_size=2)
    try:
        async with raw_pool.acquire() as conn:
            await migrate(conn, raw_schema, MIGRATIONS)
        async with running(app) as http:
            client = InProcess(app, {"authorization": http.headers["authorization"]})
            today = (await app.state.evaluation.now(app_pool)).date()
            copies, text = _files(today)
            decisions = len(text.splitlines()) - 1
            for pool in (app_pool, raw_pool):
                await _copy_products(pool, copies)
            ocop_s: list[float] = []
            raw_s: list[float] = []
            events = 0
            for _ in range(REPEATS):
                for pool in (app_pool, raw_pool):
                    await _empty(pool)
                app_mark, raw_mark = await _mark(app_pool), await _mark(raw_pool)
                started = time.perf_counter()
                response = await client.post(
                    "/imports/certificates",
                    content=text.encode(),
                    headers={"content-type": "text/csv"},
                )
                ocop_s.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:500]
                body = response.json()
                assert body["rejected"] == 0, body["errors"][:3]
                started = time.perf_counter()
                events = await _raw_import(raw_pool, text, today)
                raw_s.append(time.perf_counter() - started)
                assert body["events"] == events, (body["events"], events)
                await _agree(app_pool, app_mark, raw_pool, raw_mark)
            ocop, raw = statistics.median(ocop_s), statistics.median(raw_s)
            sizes = {"products": PRODUCTS, "decisions": decisions, "events": events}
            print(
                f"history import: {decisions} decisions of {PRODUCTS} products, {events} events;"
                f" ocop {ocop * 1000:.0f} ms, raw {raw * 1000:.0f} ms (median of {REPEATS})"
            )
            report(
                "history import, per decision",
                "rows/s",
                ocop=decisions / ocop,
                raw=decisions / raw,
                sizes=sizes,
            )
            report(
                "history import, whole file", "ms", ocop=ocop * 1000, raw=raw * 1000, sizes=sizes
            )
    finally:
        await raw_pool.close()
        await app_pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
