"""The statistics, computed from the facts for a day (``$1``), never from a current state.

A product is *live* on a day when one of its certificates was decided by then, is within its
validity, has not ended (expired, revoked) and has not been replaced by a certificate decided by
then; its star class is that certificate's star, or ``potential_5`` for a 4-star nominated to
the central council whose result has not come by that day. A product deregistered by the day
is not live.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import asyncpg

from ocop_insights.domain.facts import REORGANISATION
from ocop_insights.domain.statistics import (
    BY_NAME,
    DEFINITIONS,
    EXPIRY_WINDOWS,
    STAR_CLASSES,
    UNKNOWN,
    Statistic,
    assemble,
)
from ocop_insights.domain.units import unit_key
from ocop_insights.store import activity

Counts = dict[str, dict[str, int]]

LIVE = """
WITH live AS (
    SELECT DISTINCT ON (c.product_id) c.product_id, c.certificate_id, c.star,
           c.decision_date, c.valid_until, c.application_id
    FROM certificates c
    WHERE c.decision_date <= $1 AND c.valid_from <= $1 AND c.valid_until >= $1
      AND NOT EXISTS (SELECT 1 FROM certificate_ends e
                      WHERE e.certificate_id = c.certificate_id AND e.ended_on <= $1)
      AND NOT EXISTS (SELECT 1 FROM certificates r
                      WHERE r.replaces = c.certificate_id AND r.decision_date <= $1)
    ORDER BY c.product_id, c.decision_date DESC, c.valid_from DESC, c.certificate_id
),
classed AS (
    SELECT l.product_id, l.star, l.valid_until,
           CASE WHEN l.star = 4 AND EXISTS (
               SELECT 1 FROM nominations n
               WHERE n.product_id = l.product_id AND n.nominated_on <= $1
                 AND (n.application_id = l.application_id OR n.nominated_on >= l.decision_date)
                 AND NOT EXISTS (SELECT 1 FROM results r
                                 WHERE r.product_id = n.product_id AND r.level = 'central'
                                   AND r.decided_on >= n.nominated_on AND r.decided_on <= $1))
           THEN 'potential_5' ELSE l.star::text END AS class,
           p.producer_id, p.legal_form, p.classification, p.product_set, p.sector,
           p.statistics_sector
    FROM live l LEFT JOIN products p ON p.product_id = l.product_id
    WHERE p.deregistered_on IS NULL OR p.deregistered_on > $1
)
"""


def _nested(rows: Iterable[Sequence[Any]]) -> Counts:
    """(key, measure, count) rows -> {key: {measure: count}}."""
    out: Counts = defaultdict(dict)
    for key, measure, count in rows:
        bucket = out[UNKNOWN if key is None else str(key)]
        bucket[measure] = bucket.get(measure, 0) + count
    return out


async def _by_class(conn: asyncpg.Connection, day: date, column: str, where: str = "") -> Counts:
    rows = await conn.fetch(
        LIVE + f"SELECT {column}, class, count(*) FROM classed {where} GROUP BY 1, 2", day
    )
    nested = _nested(rows)
    for values in nested.values():
        values["products"] = sum(values.get(c, 0) for c in STAR_CLASSES)
    return nested


async def products_by_star(conn: asyncpg.Connection, day: date) -> Statistic:
    rows = await conn.fetch(
        LIVE + "SELECT class, count(*), count(DISTINCT producer_id) FROM classed GROUP BY 1", day
    )
    totals = await conn.fetchrow(
        LIVE + "SELECT count(*), count(DISTINCT producer_id) FROM classed", day
    )
    counts = {r[0]: {"products": r[1], "producers": r[2]} for r in rows}
    definition = BY_NAME["products.by_star"]
    return assemble(definition, day, counts, {"products": totals[0], "producers": totals[1]})


async def products_by_sector(conn: asyncpg.Connection, day: date) -> Statistic:
    counts = await _by_class(conn, day, "statistics_sector")
    return assemble(BY_NAME["products.by_sector"], day, counts)


async def products_by_sector_1048(conn: asyncpg.Connection, day: date) -> Statistic:
    counts = await _by_class(conn, day, "sector", "WHERE classification = '1048'")
    return assemble(BY_NAME["products.by_sector_1048"], day, counts)


async def products_by_set(conn: asyncpg.Connection, day: date) -> Statistic:
    rows = await conn.fetch(LIVE + "SELECT product_set, count(*) FROM classed GROUP BY 1", day)
    counts = {(r[0] or UNKNOWN): {"products": r[1]} for r in rows}
    return assemble(BY_NAME["products.by_set"], day, counts)


async def products_by_legal_form(conn: asyncpg.Connection, day: date) -> Statistic:
    rows = await conn.fetch(
        LIVE + "SELECT legal_form, count(*), count(DISTINCT producer_id) FROM classed GROUP BY 1",
        day,
    )
    counts = {(r[0] or UNKNOWN): {"products": r[1], "producers": r[2]} for r in rows}
    return assemble(BY_NAME["products.by_legal_form"], day, counts)


async def products_by_unit(conn: asyncpg.Connection, day: date) -> Statistic:
    # The place in force on the day: the latest version that took effect by then, else the
    # first one known. The tier (district or commune) is the day's; a place recorded before
    # the reorganisation counts under the new commune its old one was carried over to.
    tier = "district" if day < REORGANISATION else "commune"
    rows = await conn.fetch(
        LIVE
        + """
        SELECT pl.commune_code, pl.district_code, pl.since < $2, c.class, count(*)
        FROM classed c
        LEFT JOIN LATERAL (
            SELECT pp.commune_code, pp.district_code, pp.since FROM product_places pp
            WHERE pp.product_id = c.product_id
            ORDER BY (pp.since <= $1) DESC,
                     CASE WHEN pp.since <= $1 THEN -pp.version ELSE pp.version END
            LIMIT 1
        ) pl ON true
        GROUP BY 1, 2, 3, 4
        """,
        day,
        REORGANISATION,
    )
    nested = _nested((unit_key(tier, r[0], r[1], bool(r[2])), r[3], r[4]) for r in rows)
    for values in nested.values():
        values["products"] = sum(values.get(c, 0) for c in STAR_CLASSES)
    return assemble(BY_NAME["products.by_unit"], day, nested)


async def products_recognition(conn: asyncpg.Connection, day: date) -> Statistic:
    cumulative = await conn.fetchval(
        "SELECT count(DISTINCT product_id) FROM certificates WHERE decision_date <= $1", day
    )
    valid = await conn.fetchval(LIVE + "SELECT count(*) FROM classed", day)
    counts = {"cumulative": {"products": cumulative}, "valid": {"products": valid}}
    return assemble(BY_NAME["products.recognition"], day, counts, {"products": cumulative})


_FIRST_CERTIFIED = """
SELECT extract(year FROM first)::int, count(*) FROM (
    SELECT min(decision_date) AS first FROM certificates GROUP BY product_id
) f WHERE first <= $1 GROUP BY 1
"""


async def certificates_by_year(conn: asyncpg.Connection, day: date) -> Statistic:
    rows = await conn.fetch(
        "SELECT extract(year FROM decision_date)::int, star::text, count(*) FROM certificates"
        " WHERE decision_date <= $1 GROUP BY 1, 2",
        day,
    )
    counts = _nested(rows)
    for values in counts.values():
        values["certificates"] = sum(values.get(s, 0) for s in ("3", "4", "5"))
    for year, new in await conn.fetch(_FIRST_CERTIFIED, day):
        counts.setdefault(str(year), {})["new_products"] = new
    return assemble(BY_NAME["certificates.by_year"], day, counts)


async def certificates_expiring(conn: asyncpg.Connection, day: date) -> Statistic:
    counts: Counts = {}
    for days in EXPIRY_WINDOWS:
        n = await conn.fetchval(
            LIVE + "SELECT count(*) FROM classed WHERE valid_until <= $2",
            day,
            day + timedelta(days=days),
        )
        counts[str(days)] = {"certificates": n}
    widest = counts[str(EXPIRY_WINDOWS[-1])]["certificates"]
    return assemble(BY_NAME["certificates.expiring"], day, counts, {"certificates": widest})


async def rounds_by_year(conn: asyncpg.Connection, day: date) -> Statistic:
    counts: Counts = defaultdict(dict)
    for year, n in await conn.fetch(
        "SELECT round_year, count(*) FROM applications WHERE round_year IS NOT NULL"
        " AND submitted_on <= $1 AND (withdrawn_on IS NULL OR withdrawn_on > $1) GROUP BY 1",
        day,
    ):
        counts[str(year)]["registered"] = n
    for year, n in await conn.fetch(
        "SELECT coalesce(a.round_year, extract(year FROM r.first)::int), count(*) FROM ("
        "  SELECT application_id, min(decided_on) AS first FROM results"
        "  WHERE decided_on <= $1 GROUP BY 1"
        ") r LEFT JOIN applications a USING (application_id) GROUP BY 1",
        day,
    ):
        counts[str(year)]["evaluated"] = n
    for year, level, n in await conn.fetch(
        "SELECT extract(year FROM decision_date)::int, level, count(*) FROM certificates"
        " WHERE decision_date <= $1 GROUP BY 1, 2",
        day,
    ):
        measure = f"certified_{level}"
        counts[str(year)][measure] = counts[str(year)].get(measure, 0) + n
    return assemble(BY_NAME["rounds.by_year"], day, counts)


async def producers_by_legal_form(conn: asyncpg.Connection, day: date) -> Statistic:
    counts: Counts = defaultdict(dict)
    for form, n in await conn.fetch(
        "SELECT legal_form, count(*) FROM producers WHERE version > 0 AND registered_on <= $1"
        " AND (deregistered_on IS NULL OR deregistered_on > $1) GROUP BY 1",
        day,
    ):
        counts[form or UNKNOWN]["producers"] = n
    for form, n in await conn.fetch(
        LIVE + "SELECT legal_form, count(DISTINCT producer_id) FROM classed GROUP BY 1", day
    ):
        counts[form or UNKNOWN]["certified"] = n
    return assemble(BY_NAME["producers.by_legal_form"], day, counts)


async def plan_by_year(conn: asyncpg.Connection, day: date) -> Statistic:
    counts: Counts = defaultdict(dict)
    for year, value in await conn.fetch(
        "SELECT year, value FROM targets WHERE measure = 'new_products'"
    ):
        counts[str(year)]["target"] = value
    for year, new in await conn.fetch(_FIRST_CERTIFIED, day):
        counts[str(year)]["actual"] = new
    # The plan's whole period: +2,000 products from 2021 to 2025.
    period = await conn.fetchrow(
        "SELECT year, value FROM targets WHERE measure = 'new_products_since_2021'"
    )
    if period is not None:
        counts[f"2021-{period['year']}"] = {
            "target": period["value"],
            "actual": sum(
                v.get("actual", 0)
                for k, v in counts.items()
                if k.isdigit() and 2021 <= int(k) <= period["year"]
            ),
        }
    return assemble(BY_NAME["plan.by_year"], day, counts, {})


COMPUTE: dict[str, Callable[[asyncpg.Connection, date], Awaitable[Statistic]]] = {
    "products.by_star": products_by_star,
    "products.by_sector": products_by_sector,
    "products.by_sector_1048": products_by_sector_1048,
    "products.by_set": products_by_set,
    "products.by_legal_form": products_by_legal_form,
    "products.by_unit": products_by_unit,
    "products.recognition": products_recognition,
    "certificates.by_year": certificates_by_year,
    "certificates.expiring": certificates_expiring,
    "rounds.by_year": rounds_by_year,
    "producers.by_legal_form": producers_by_legal_form,
    "plan.by_year": plan_by_year,
    "trade.outlets": activity.trade_outlets,
    "trade.promotions": activity.trade_promotions,
    "inspection.findings": activity.inspection_findings,
    "inspection.campaigns": activity.inspection_campaigns,
}


async def compute(pool: asyncpg.Pool, name: str, day: date) -> Statistic:
    async with pool.acquire() as conn:
        return await COMPUTE[name](conn, day)


async def compute_all(pool: asyncpg.Pool, day: date) -> list[Statistic]:
    """Every statistic for the day, from one snapshot of the facts."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return [await COMPUTE[d.name](conn, day) for d in DEFINITIONS]
