"""Benchmark: the registry's HTTP API against raw asyncpg doing the same database work, same run.

The registry runs in-process exactly as in the tests (``create_app`` + ``running``: its pool,
migrations, relay and broker on the bench stack) and is called directly as an ASGI app
(``bench.common.InProcess``), so no network and no HTTP client library is involved: what is
measured is routing, auth, validation, the use case, its SQL and the JSON response. Each baseline is the database work alone, done with one asyncpg
connection and no HTTP, no validation and no Python models: the floor for that work on this
machine. The ratio (ocop time / raw time) is what to watch; 1.0 is the floor, and what lies
above it is the cost of the service's layers plus any round trips the service adds. The
baselines call no function of the registry's: their SQL is their own, and all they take from
it is a rule, the expiring window of the certificate status (``EXPIRING_WITHIN_DAYS``). The
registry's own modules serve only the set-up (``demo`` rows, ``store`` for the certificates,
``usecases.load_admin_units`` for the raw schema's units).

1. CSV import: ``POST /imports/products`` with a file of ``demo.rows`` (the districts' format),
   timed for a fresh file (everything created) and again for the same file (every row
   unchanged). Baseline: the producers, products and outbox rows that this import wrote are
   copied out, then written to a separate schema migrated with the registry's own migrations,
   in one transaction: one ``executemany`` per table, byte-identical payloads. Median over
   several files (each with its own seed), after a warm-up file.
2. Product list: ``GET /products?limit=50`` with a sector filter and with a commune filter,
   walking the pages by ``next_cursor``. Baseline: the same count query and the same keyset page
   query (the join with producers and admin_units, the certificate status) on the same schema,
   walking its pages the same way. p50 and p99 of per-request latency.
3. Public lookup: ``GET /public/products/{code}`` for random codes from the imports. Baseline:
   the same four reads on one connection (product by code, its producer, its certificates, the
   commune's name). p50 and p99 of per-request latency. After each pair, the HTTP floor: a
   traced route that does no work (``bench.common.add_floor_route``), which the target adds to
   1.5x the baseline. ``GET /healthz`` is measured apart: a health probe, not traced.

Before the list and lookup phases a share of the products are given a certificate (through the
registry's store, as evaluation's events would), so both paths read certificates for real, and
the tables are vacuumed and analysed (the steady state autovacuum reaches), so that neither side
is measured with a plan made without statistics.
Requests are interleaved with their baseline (ocop, raw, ocop, raw, ...) so background work
(the relay, the broker) weighs on both alike.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from bench.common import (
    Answer,
    InProcess,
    add_floor_route,
    bench_settings,
    quiet_faststream,
    report,
    skip_app_history,
)
from ocop_registry import demo, store, usecases
from ocop_registry.app import MIGRATIONS, create_app
from ocop_registry.domain.certificates import EXPIRING_WITHIN_DAYS, Certificate
from ocop_registry.settings import RegistrySettings
from ocop_registry.usecases import Registry
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.testing import running, wait_until

IMPORT_ROWS = int(os.environ.get("OCOP_BENCH_IMPORT_ROWS", "2000"))
IMPORT_FILES = int(os.environ.get("OCOP_BENCH_IMPORT_FILES", "5"))
REQUESTS = int(os.environ.get("OCOP_BENCH_REQUESTS", "300"))
WARMUP = int(os.environ.get("OCOP_BENCH_WARMUP", "30"))
PAGE = 50
SEED = 2021
CERTIFIED_SHARE = 3  # one product in this many gets a certificate

CSV = {"content-type": "text/csv"}

# ---------------------------------------------------------------- raw SQL (the baselines)

_PRODUCER_COLUMNS = (
    "id, name, legal_form, commune_code, version, registered_at, updated_at,"
    " registration_number, address, district_code"
)
_PRODUCT_COLUMNS = (
    "id, producer_id, name, name_key, public_code, classification, product_set, sector,"
    " statistics_sector, commune_code, commune_valid_from, district_code, registered_on,"
    " version, registered_at, updated_at"
)
_OUTBOX_COLUMNS = (
    "event_id, topic, key, ce_type, ce_source, ce_time, payload, traceparent, tracestate"
)


def _insert(table: str, columns: str) -> str:
    n = len(columns.split(","))
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(f'${i + 1}' for i in range(n))})"


_PRODUCT = (
    "p.id, p.producer_id, p.name, p.public_code, p.classification, p.product_set, p.sector,"
    " p.statistics_sector, p.commune_code, p.commune_valid_from, p.district_code,"
    " p.registered_on, p.version, p.registered_at, p.updated_at, p.deregistered_at,"
    " p.deregistration_reason"
)
_STATUS = f"""CASE
    WHEN p.certificate_id IS NULL OR p.certificate_from > $1::date THEN 'not_certified'
    WHEN p.certificate_revoked <= $1::date THEN 'revoked'
    WHEN p.certificate_until < $1::date OR p.certificate_expired <= $1::date THEN 'expired'
    WHEN p.certificate_until - $1::date < {EXPIRING_WITHIN_DAYS} THEN 'expiring'
    ELSE 'valid' END"""
_FROM = (
    " FROM products p JOIN producers pr ON pr.id = p.producer_id"
    " JOIN admin_units u ON u.code = p.commune_code AND u.valid_from = p.commune_valid_from"
)
# $1 is today (the page's status), $2 the filter value, $3/$4 the keyset position.
_FILTERS = {
    "sector": "(p.sector = $2 OR p.statistics_sector = $2)",
    "commune": "(p.commune_code = $2 OR p.commune_code IN"
    " (SELECT old_code FROM admin_unit_successions WHERE new_code = $2))",
}


def _list_sql(filter_name: str) -> tuple[str, str, str]:
    where = f" WHERE {_FILTERS[filter_name]} AND p.deregistered_at IS NULL"
    # The count has no status column, so the filter value is its only parameter ($1).
    count = f"SELECT count(*){_FROM}{where.replace('$2', '$1')}"
    select = (
        f"SELECT {_PRODUCT}, pr.legal_form AS producer_legal_form, pr.name AS producer_name,"
        " p.star, p.certificate_number, p.certificate_until, u.name AS commune_name,"
        f" {_STATUS} AS certificate_status{_FROM}{where}"
    )
    order = f" ORDER BY p.registered_at, p.id LIMIT {PAGE}"
    first = select + order
    after = select + " AND (p.registered_at, p.id) > ($3, $4)" + order
    return count, first, after


_LOOKUP_PRODUCT = f"SELECT {_PRODUCT} FROM products p WHERE public_code = $1"
_LOOKUP_PRODUCER = (
    "SELECT id, name, legal_form, commune_code, version, registered_at, updated_at,"
    " registration_number, address, district_code, deregistered_at, deregistration_reason,"
    " personal_data_erased_at FROM producers WHERE id = $1"
)
_LOOKUP_CERTIFICATES = (
    "SELECT id, number, product_id, star, level, decision_number, decision_date, valid_from,"
    " valid_until, rulebook, score, replaces_id, revoked_on, revocation_grounds, expired_on"
    " FROM certificates WHERE product_id = $1 ORDER BY valid_from, recorded_at"
)
_LOOKUP_UNIT = "SELECT name FROM admin_units WHERE code = $1 AND valid_from = $2"


# ---------------------------------------------------------------- helpers


@dataclass
class ImportRound:
    rows: int
    ocop: float
    again: float
    raw: float
    producers: int
    products: int
    events: int


def _pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def _drain_outbox(pool: asyncpg.Pool) -> None:
    """Wait until the service's relay has published everything (outside any timing)."""

    async def drained() -> bool:
        return not await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")

    await wait_until(drained, timeout_seconds=60, interval=0.05, what="the relay to drain")


async def _post_csv(client: InProcess, text: str) -> dict[str, Any]:
    response = await client.post("/imports/products", content=text.encode(), headers=CSV)
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


# ---------------------------------------------------------------- 1. import


async def _import_round(
    client: InProcess,
    app_pool: asyncpg.Pool,
    raw_pool: asyncpg.Pool,
    seed: int,
    today: date,
) -> ImportRound:
    text = demo.to_csv(demo.rows(IMPORT_ROWS, seed=seed, today=today))
    last_event = await app_pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")

    ocop, report = await _timed(lambda: _post_csv(client, text))
    if report["rejected"]:
        print(f"note: seed {seed}: {report['rejected']} rows rejected", file=sys.stderr)
    await _drain_outbox(app_pool)  # the relay must not publish this file during the next timing
    again, repeat = await _timed(lambda: _post_csv(client, text))
    assert repeat["unchanged"] == report["created_products"], repeat
    await _drain_outbox(app_pool)

    # What the import wrote, to be written again by the baseline.
    created = [r for r in report["results"] if r["status"] == "created"]
    product_ids = [UUID(r["product_id"]) for r in created]
    producer_ids = list({UUID(r["producer_id"]) for r in created})
    async with app_pool.acquire() as conn:
        producers = await conn.fetch(
            f"SELECT {_PRODUCER_COLUMNS} FROM producers WHERE id = ANY($1::uuid[])"
            " ORDER BY registered_at, id",
            producer_ids,
        )
        products = await conn.fetch(
            f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE id = ANY($1::uuid[])",
            product_ids,
        )
        events = await conn.fetch(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id > $1 ORDER BY id", last_event
        )
    assert len(producers) == report["created_producers"], (len(producers), report)
    assert len(events) == len(producers) + len(products)
    producer_rows = [tuple(r) for r in producers]
    product_rows = [tuple(r) for r in products]
    event_rows = [tuple(r) for r in events]

    async def raw() -> None:
        async with raw_pool.acquire() as conn, conn.transaction():
            await conn.executemany(_insert("producers", _PRODUCER_COLUMNS), producer_rows)
            await conn.executemany(_insert("products", _PRODUCT_COLUMNS), product_rows)
            await conn.executemany(_insert("outbox", _OUTBOX_COLUMNS), event_rows)

    raw_time, _ = await _timed(raw)
    rows = report["rows"]
    return ImportRound(rows, ocop, again, raw_time, len(producers), len(products), len(events))


# ---------------------------------------------------------------- certificates


async def _certify_some(pool: asyncpg.Pool, today: date) -> int:
    """Give every CERTIFIED_SHARE-th product a certificate, as evaluation's events would."""
    rng = random.Random(SEED)
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM products ORDER BY public_code")]
    chosen = ids[::CERTIFIED_SHARE]
    at = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        for n, product_id in enumerate(chosen, start=1):
            valid_from = today - timedelta(days=rng.randrange(3 * 365))
            certificate = Certificate(
                id=uuid4(),
                number=f"{n:03d}/{valid_from.year}/OCOP-HN",
                product_id=product_id,
                star=rng.choice((3, 3, 3, 4, 4, 5)),
                level="city",
                decision_number=f"{n}/QĐ-UBND",
                decision_date=valid_from,
                valid_from=valid_from,
                valid_until=valid_from + timedelta(days=3 * 365 - 1),
                rulebook="148",
                score=rng.uniform(50, 95),
            )
            await store.record_certificate(conn, certificate, at)
            await store.set_current_certificate(conn, product_id, certificate)
    return len(chosen)


# ---------------------------------------------------------------- 2. list


@dataclass
class Latencies:
    ocop: list[float]
    raw: list[float]
    # The HTTP floor measured between them (the lookup: its target depends on it).
    floor: list[float] = field(default_factory=list)


async def _list_bench(
    client: InProcess, pool: asyncpg.Pool, filter_name: str, value: str, today: date
) -> Latencies:
    count_sql, first_sql, after_sql = _list_sql(filter_name)
    cursor: str | None = None
    position: tuple[datetime, UUID] | None = None

    async def ocop() -> bytes:
        params = {"limit": str(PAGE), filter_name: value}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/products", params=params)
        response.raise_for_status()
        return response.content  # parsed outside the timing

    async def raw() -> tuple[int, list[asyncpg.Record]]:
        async with pool.acquire() as conn:
            total = await conn.fetchval(count_sql, value)
            if position is None:
                rows = await conn.fetch(first_sql, today, value)
            else:
                rows = await conn.fetch(after_sql, today, value, *position)
        return total, rows

    def parse(body: bytes) -> tuple[list[tuple[str, str]], int, str | None]:
        page = json.loads(body)
        items = [(i["id"], i["certificate_status"]) for i in page["items"]]
        return items, page["total"], page["next_cursor"]

    # Same answers first: the baseline must return the page the service returns.
    _, body = await _timed(ocop)
    items, total, _ = parse(body)
    _, (raw_total, raw_rows) = await _timed(raw)
    raw_items = [(str(r["id"]), r["certificate_status"]) for r in raw_rows]
    assert (items, total) == (raw_items, raw_total), filter_name
    assert total > 0, f"nothing matches {filter_name}={value}"

    out = Latencies([], [])
    for i in range(WARMUP + REQUESTS):
        o_time, body = await _timed(ocop)
        _, _, cursor = parse(body)
        r_time, (_, rows) = await _timed(raw)
        position = (rows[-1]["registered_at"], rows[-1]["id"]) if len(rows) == PAGE else None
        if (cursor is None) != (position is None):
            raise AssertionError("the service and the baseline walk different pages")
        if i >= WARMUP:
            out.ocop.append(o_time)
            out.raw.append(r_time)
    return out


# ---------------------------------------------------------------- 3. public lookup


async def _lookup_bench(client: InProcess, pool: asyncpg.Pool, floor_path: str) -> Latencies:
    codes = [r["public_code"] for r in await pool.fetch("SELECT public_code FROM products")]
    rng = random.Random(SEED)
    sample = [rng.choice(codes) for _ in range(WARMUP + REQUESTS)]

    async def ocop(code: str) -> Answer:
        response = await client.get(f"/public/products/{code}")
        response.raise_for_status()
        return response

    async def raw(code: str) -> tuple[asyncpg.Record, asyncpg.Record, list[asyncpg.Record], str]:
        async with pool.acquire() as conn:
            product = await conn.fetchrow(_LOOKUP_PRODUCT, code)
            producer = await conn.fetchrow(_LOOKUP_PRODUCER, product["producer_id"])
            certificates = await conn.fetch(_LOOKUP_CERTIFICATES, product["id"])
            name = await conn.fetchval(
                _LOOKUP_UNIT, product["commune_code"], product["commune_valid_from"]
            )
        return product, producer, certificates, name

    out = Latencies([], [])
    for i, code in enumerate(sample):
        o_time, response = await _timed(partial(ocop, code))
        r_time, (_, _, _, name) = await _timed(partial(raw, code))
        # The floor in the same conditions as both: the target is computed from all three.
        f_time, floor = await _timed(partial(client.get, floor_path))
        floor.raise_for_status()
        if response.json()["commune_name"] != name:
            raise AssertionError(f"{code}: the service and the baseline disagree")
        if i >= WARMUP:
            out.ocop.append(o_time)
            out.raw.append(r_time)
            out.floor.append(f_time)
    return out


async def _http_floor(client: InProcess, path: str = "/healthz") -> list[float]:
    """The same HTTP stack around no work: ``GET /healthz`` (a health probe, not traced) or the
    bench's traced route that does nothing (``add_floor_route``): what any request costs before
    its handler runs."""
    out = []
    for i in range(WARMUP + REQUESTS):
        elapsed, response = await _timed(partial(client.get, path))
        response.raise_for_status()
        if i >= WARMUP:
            out.append(elapsed)
    return out


# ---------------------------------------------------------------- main


async def main() -> int:
    quiet_faststream()
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    unique = uuid4().hex[:8]
    settings = bench_settings(RegistrySettings, unique)
    raw_schema = f"registry_raw_{unique}"
    app = create_app(settings)
    await skip_app_history(app, settings)
    floor_path = add_floor_route(app)
    registry: Registry = app.state.registry
    today = registry.clock().date()  # the registry's day (Hanoi's), for the rows and statuses

    raw_pool = await create_pool(database_url, raw_schema, min_size=1, max_size=2)
    app_pool = await create_pool(database_url, settings.db_schema, min_size=1, max_size=2)
    try:
        async with raw_pool.acquire() as conn:
            await migrate(conn, raw_schema, MIGRATIONS)
        await usecases.load_admin_units(raw_pool)
        async with running(app) as http:
            # Measured requests call the app directly (bench.common.InProcess): no HTTP client
            # library in the timings, only the service's stack and handler.
            client = InProcess(app, {"authorization": http.headers["authorization"]})
            # Import: a warm-up file, then IMPORT_FILES files with fresh rows each.
            imports = [
                await _import_round(client, app_pool, raw_pool, SEED + r, today)
                for r in range(IMPORT_FILES + 1)
            ][1:]
            certified = await _certify_some(app_pool, today)
            # Settle the tables as autovacuum would, so no plan or scan changes mid-measurement.
            for table in ("producers", "products", "certificates", "outbox", "admin_units"):
                await app_pool.execute(f"VACUUM ANALYZE {table}")
            sector = "food"
            commune = await app_pool.fetchval(
                "SELECT s.new_code FROM products p JOIN admin_unit_successions s"
                " ON s.old_code = p.commune_code OR s.new_code = p.commune_code"
                " GROUP BY s.new_code ORDER BY count(DISTINCT p.id) DESC, s.new_code LIMIT 1"
            )
            by_sector = await _list_bench(client, app_pool, "sector", sector, today)
            by_commune = await _list_bench(client, app_pool, "commune", commune, today)
            lookups = await _lookup_bench(client, app_pool, floor_path)
            floor = await _http_floor(client)
            products_total = await app_pool.fetchval("SELECT count(*) FROM products")
    finally:
        await app_pool.close()
        await raw_pool.close()

    _report(
        imports,
        certified,
        products_total,
        sector,
        commune,
        by_sector,
        by_commune,
        lookups,
        floor,
    )
    return 0


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def _report(
    imports: list[ImportRound],
    certified: int,
    products_total: int,
    sector: str,
    commune: str,
    by_sector: Latencies,
    by_commune: Latencies,
    lookups: Latencies,
    floor: list[float],
) -> None:
    med = statistics.median
    ocop, again, raw = (med([getattr(r, f) for r in imports]) for f in ("ocop", "again", "raw"))
    rows = med([r.rows for r in imports])
    print("registry API: in-process ASGI (no network) vs raw asyncpg, same run and database")
    print(
        f"CSV import, median of {len(imports)} files of {rows:,.0f} rows"
        f" (each: {_span([r.producers for r in imports])} producers,"
        f" {_span([r.products for r in imports])} products,"
        f" {_span([r.events for r in imports])} outbox rows)"
    )
    print(f"  {'':<26} {'time':>9} {'rows/s':>9}   {'raw time':>9} {'raw rows/s':>10}   ratio")
    print(
        f"  {'POST /imports/products':<26} {ocop * 1e3:>7.0f}ms {rows / ocop:>9,.0f}"
        f"   {raw * 1e3:>7.0f}ms {rows / raw:>10,.0f}   {ocop / raw:5.2f}x"
    )
    print(
        f"  {'  same file again':<26} {again * 1e3:>7.0f}ms {rows / again:>9,.0f}"
        "   (every row unchanged; no baseline)"
    )
    print(
        f"Reads: {products_total:,} products ({certified:,} certified), limit={PAGE},"
        f" {len(lookups.ocop)} requests each after {WARMUP} warm-up; ms"
    )
    print(f"  {'':<42} {'p50':>6} {'p99':>6}   {'raw p50':>7} {'p99':>6}   ratio p50  p99")
    for name, lat in (
        (f"GET /products?sector={sector}", by_sector),
        (f"GET /products?commune={commune}", by_commune),
        ("GET /public/products/{code}", lookups),
    ):
        o50, o99 = med(lat.ocop), _pct(lat.ocop, 0.99)
        r50, r99 = med(lat.raw), _pct(lat.raw, 0.99)
        print(
            f"  {name:<42} {o50 * 1e3:>6.2f} {o99 * 1e3:>6.2f}   {r50 * 1e3:>7.2f} {r99 * 1e3:>6.2f}"
            f"   {o50 / r50:8.2f}x {o99 / r99:5.2f}x"
        )
    name = "GET /healthz (a probe: the stack, no span)"
    print(f"  {name:<42} {med(floor) * 1e3:>6.2f} {_pct(floor, 0.99) * 1e3:>6.2f}")
    name = "GET /bench/floor (traced, no work; between lookups)"
    traced = lookups.floor
    print(f"  {name:<42} {med(traced) * 1e3:>6.2f} {_pct(traced, 0.99) * 1e3:>6.2f}")

    sizes = {"rows": IMPORT_ROWS, "files": len(imports)}
    report("CSV import", "ms", ocop=ocop * 1e3, raw=raw * 1e3, sizes=sizes, target=1.5)
    report("CSV import, same file again", "ms", ocop=again * 1e3, raw=None, sizes=sizes)
    sizes = {"products": products_total, "requests": len(lookups.ocop)}
    for name, lat in (
        ("product list by sector", by_sector),
        ("product list by commune", by_commune),
    ):
        report(f"{name} p50", "ms", ocop=med(lat.ocop) * 1e3, raw=med(lat.raw) * 1e3, sizes=sizes)
    # The lookup may cost 1.5x its SQL plus the floor every traced request pays (the bench's
    # traced route that does nothing, measured between the lookups; GET /healthz is a probe,
    # not traced).
    o50, r50, f50 = med(lookups.ocop), med(lookups.raw), med(floor)
    target = 1.5 + med(lookups.floor) / r50
    report("public lookup p50", "ms", ocop=o50 * 1e3, raw=r50 * 1e3, sizes=sizes, target=target)
    o99, r99 = _pct(lookups.ocop, 0.99), _pct(lookups.raw, 0.99)
    report("public lookup p99", "ms", ocop=o99 * 1e3, raw=r99 * 1e3, sizes=sizes)
    sizes = {"requests": len(floor)}
    report("GET /healthz p50 (registry)", "ms", ocop=f50 * 1e3, raw=None, sizes=sizes, limit=0.3)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
