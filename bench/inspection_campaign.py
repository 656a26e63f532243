"""Benchmark: an inspection campaign's risk-based draw from 5,000 certified products and the
findings of 334 visits, against raw asyncpg doing the same work, same run.

The inspection service runs in-process as in the tests (``create_app`` + ``running``: pool,
migrations, consumer, outbox relay on the bench stack) and is called as an ASGI app
(``bench.common.InProcess``). The baseline works on a second schema migrated with the service's
own migrations.

Set-up (not measured; the consumer's work, written by SQL to both schemas alike):
``OCOP_BENCH_INSPECTION_PRODUCTS`` certified products (5,000) of a fifth as many producers in 30
districts, certified from September 2019 to June 2021 at 3-5★, with earlier visits, findings and
complaints for some of them; 334 visits of a Q4 2021 campaign (Hanoi's 2021 figure).

1. Risk draw: ``POST /campaigns/{id}/sample`` (risk, 334 products, a seed) on a fresh campaign.
   Baseline, one transaction: the candidates and their risk facts in one query of its own, the
   domain's ``draw_by_risk``, then the draw, sampled products and producers with one
   ``executemany`` each and its own ``SampleDrawn`` staged as an outbox row.
2. Findings: for each of the 334 visits ``POST /visits/{id}/findings`` with two findings (a label
   advice and a packaging remediation with a deadline). Baseline, per visit one transaction: the
   visit, the findings already recorded and the products' certificates in one query each, the
   domain's ``check_findings`` and ``require_remediation``, findings, remediations and its own
   ``FindingRecorded`` / ``RemediationRequired`` rows written with one ``executemany`` each.

Shared: the domain's pure rules and the contract models; the SQL and the mapping to rows and
events are the baseline's own. Both must agree before anything is reported: the same drawn
products in the same order with the same risk and reasons, the same findings and remediations,
and the same events (ignoring ids that are fresh by construction and times). Median of
``OCOP_BENCH_ROUNDS`` repetitions; between repetitions the findings are removed from both.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from bench.common import InProcess, bench_settings, quiet_faststream, report, skip_app_history
from bench.inspection_raw import (
    AS_OF,
    Visit,
    agree,
    drafts,
    empty,
    finding_json,
    load,
    mark,
    plan_campaign,
    population,
    raw_draw,
    raw_findings,
)
from ocop_inspection.app import MIGRATIONS, create_app
from ocop_inspection.settings import InspectionSettings
from ocop_runtime.db import create_pool
from ocop_runtime.migrations import migrate
from ocop_runtime.testing import running

PRODUCTS = int(os.environ.get("OCOP_BENCH_INSPECTION_PRODUCTS", "5000"))
VISITS = 334
REPEATS = int(os.environ.get("OCOP_BENCH_ROUNDS", "3"))


# ---------------------------------------------------------------- main


async def main() -> int:
    quiet_faststream()
    database_url = os.environ["OCOP_BENCH_DATABASE_URL"]
    unique = uuid4().hex[:8]
    settings = bench_settings(InspectionSettings, unique)
    raw_schema = f"inspection_raw_{unique}"
    app = create_app(settings)
    await skip_app_history(app, settings)
    raw_pool = await create_pool(database_url, raw_schema, min_size=1, max_size=2)
    app_pool = await create_pool(database_url, settings.db_schema, min_size=1, max_size=2)
    rng = random.Random(2021)
    try:
        async with raw_pool.acquire() as conn:
            await migrate(conn, raw_schema, MIGRATIONS)
        async with running(app) as http:
            client = InProcess(app, {"authorization": http.headers["authorization"]})
            rows = population(rng, PRODUCTS)
            for pool in (app_pool, raw_pool):
                await load(pool, rows)
            draw_s: list[float] = []
            raw_draw_s: list[float] = []
            for k in range(REPEATS):
                cid = uuid4()
                await plan_campaign(app_pool, cid)
                await plan_campaign(raw_pool, cid)
                body = {"method": "risk", "size": VISITS, "seed": k, "as_of": AS_OF.isoformat()}
                started = time.perf_counter()
                response = await client.post(f"/campaigns/{cid}/sample", json=body)
                draw_s.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:500]
                started = time.perf_counter()
                drawn = await raw_draw(raw_pool, cid, VISITS, k)
                raw_draw_s.append(time.perf_counter() - started)
                ours = [
                    (i["product_id"], i["risk"], i["reasons"]) for i in response.json()["items"]
                ]
                theirs = [(str(d.product_id), d.risk, list(d.reasons)) for d in drawn]
                assert ours == theirs, "the service and the baseline drew different samples"
            # 334 visits of one campaign: a producer each, every product it has.
            cid = uuid4()
            for pool in (app_pool, raw_pool):
                await plan_campaign(pool, cid)
            by_producer: dict[UUID, list[UUID]] = {}
            for product in rows["products"]:
                by_producer.setdefault(product[1], []).append(product[0])
            districts = {p[0]: p[4] for p in rows["producers"]}
            visits = [
                Visit(uuid4(), p, items, date(2021, 10, 4) + timedelta(days=n % 80))
                for n, (p, items) in enumerate(list(by_producer.items())[:VISITS])
            ]
            visit_rows = [
                (
                    v.id,
                    cid,
                    v.producer,
                    v.day,
                    v.products,
                    districts[v.producer],
                    "Biên bản",
                    None,
                    "bench",
                    datetime.now(UTC),
                )
                for v in visits
            ]
            for pool in (app_pool, raw_pool):
                await pool.executemany(
                    "INSERT INTO visits VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    visit_rows,
                )
            ocop_s: list[float] = []
            raw_s: list[float] = []
            for k in range(REPEATS):
                for pool in (app_pool, raw_pool):
                    await empty(pool)
                app_mark, raw_mark = await mark(app_pool), await mark(raw_pool)
                written = [drafts(v, k) for v in visits]
                started = time.perf_counter()
                for v, ds in zip(visits, written, strict=True):
                    r = await client.post(
                        f"/visits/{v.id}/findings",
                        json={"findings": [finding_json(d) for d in ds]},
                    )
                    assert r.status_code == 200 and r.json()["recorded"] == 2, r.text[:500]
                ocop_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                async with raw_pool.acquire() as conn:
                    for v, ds in zip(visits, written, strict=True):
                        await raw_findings(conn, v.id, ds)
                raw_s.append(time.perf_counter() - started)
                await agree(app_pool, app_mark, raw_pool, raw_mark)
            draw, raw_drawn = statistics.median(draw_s), statistics.median(raw_draw_s)
            ocop, raw = statistics.median(ocop_s), statistics.median(raw_s)
            sizes = {"products": PRODUCTS, "visits": VISITS, "findings": 2 * VISITS}
            print(
                f"inspection: risk draw of {VISITS} from {PRODUCTS}: ocop {draw * 1000:.0f} ms,"
                f" raw {raw_drawn * 1000:.0f} ms; findings of {VISITS} visits: ocop"
                f" {ocop * 1000:.0f} ms, raw {raw * 1000:.0f} ms (median of {REPEATS})"
            )
            report(
                "inspection risk draw, 334 of 5,000",
                "ms",
                ocop=draw * 1000,
                raw=raw_drawn * 1000,
                sizes=sizes,
            )
            report(
                "inspection findings, per visit",
                "visits/s",
                ocop=VISITS / ocop,
                raw=VISITS / raw,
                sizes=sizes,
            )
    finally:
        await raw_pool.close()
        await app_pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
