"""Set-based writes of trade and inspection facts, and their statistics for a day.

Several events fill one row (a point of sale opened, then closed; a promotion scheduled, then
reported): each event writes the columns it knows and leaves the others as they are, so the row
is the same whatever order the events come in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import asyncpg

from ocop_insights.domain.statistics import UNKNOWN, Statistic, assemble, definition

# Column types of the merged tables, key first.
COLUMNS: dict[str, dict[str, str]] = {
    "outlets": {
        "outlet_id": "uuid",
        "location_type": "text",
        "unit_code": "text",
        "district_code": "text",
        "opened_on": "date",
        "closed_on": "date",
    },
    "listings": {
        "listing_id": "uuid",
        "outlet_id": "uuid",
        "basis": "text",
        "product_id": "uuid",
        "listed_on": "date",
        "delisted_on": "date",
    },
    "promotions": {
        "event_id": "uuid",
        "kind": "text",
        "starts_on": "date",
        "ends_on": "date",
        "cancelled_on": "date",
        "reported_on": "date",
        "producers": "int",
        "products": "int",
        "sales_vnd": "bigint",
        "contracts_signed": "int",
        "contracts_value_vnd": "bigint",
    },
    "campaigns": {
        "campaign_id": "uuid",
        "year": "int",
        "target_producers": "int",
        "target_products": "int",
        "starts_on": "date",
        "closed_on": "date",
        "producers_inspected": "int",
        "products_inspected": "int",
    },
    "findings": {
        "finding_id": "uuid",
        "campaign_id": "uuid",
        "producer_id": "uuid",
        "product_id": "uuid",
        "category": "text",
        "severity": "text",
        "outcome": "text",
        "visited_on": "date",
    },
}
TABLES = tuple(COLUMNS)


async def merge(conn: asyncpg.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write the columns each row gives; keep what the table has for the others."""
    columns = COLUMNS[table]
    key = next(iter(columns))
    merged: dict[Any, dict[str, Any]] = {}
    for row in rows:  # one row per key (a statement may not touch a row twice)
        current = merged.setdefault(row[key], {})
        current.update({k: v for k, v in row.items() if v is not None})
    names = list(columns)
    arrays = [[m.get(c) for m in merged.values()] for c in names]
    unnest = ", ".join(f"${i + 1}::{columns[c]}[]" for i, c in enumerate(names))
    updates = ", ".join(f"{c} = coalesce(EXCLUDED.{c}, t.{c})" for c in names[1:])
    await conn.execute(
        f"INSERT INTO {table} AS t ({', '.join(names)}) SELECT * FROM unnest({unnest})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}",
        *arrays,
    )


async def trade_outlets(conn: asyncpg.Connection, day: date) -> Statistic:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    open_outlets = """
        SELECT outlet_id, location_type FROM outlets
        WHERE opened_on <= $1 AND (closed_on IS NULL OR closed_on > $1)
    """
    for kind, n in await conn.fetch(
        f"SELECT location_type, count(*) FROM ({open_outlets}) o GROUP BY 1", day
    ):
        counts[kind or UNKNOWN]["open"] = n
    for kind, n in await conn.fetch(
        f"SELECT o.location_type, count(*) FROM ({open_outlets}) o"
        " JOIN listings l ON l.outlet_id = o.outlet_id"
        " WHERE l.listed_on <= $1 AND (l.delisted_on IS NULL OR l.delisted_on > $1) GROUP BY 1",
        day,
    ):
        counts[kind or UNKNOWN]["listings"] = n
    return assemble(definition("trade.outlets"), day, counts)


async def trade_promotions(conn: asyncpg.Connection, day: date) -> Statistic:
    rows = await conn.fetch(
        """
        SELECT extract(year FROM starts_on)::int, count(*),
               count(*) FILTER (WHERE reported_on <= $1),
               coalesce(sum(producers) FILTER (WHERE reported_on <= $1), 0),
               coalesce(sum(sales_vnd) FILTER (WHERE reported_on <= $1), 0) / 1000000,
               coalesce(sum(contracts_signed) FILTER (WHERE reported_on <= $1), 0)
        FROM promotions
        WHERE starts_on <= $1 AND (cancelled_on IS NULL OR cancelled_on > $1)
        GROUP BY 1
        """,
        day,
    )
    counts = {
        str(r[0]): {
            "events": r[1],
            "reported": r[2],
            "producers": r[3],
            "sales_million_vnd": int(r[4]),
            "contracts": r[5],
        }
        for r in rows
    }
    return assemble(definition("trade.promotions"), day, counts)


async def inspection_findings(conn: asyncpg.Connection, day: date) -> Statistic:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for category, n, producers, serious in await conn.fetch(
        "SELECT category, count(*), count(DISTINCT producer_id),"
        " count(*) FILTER (WHERE severity IN ('major', 'critical'))"
        " FROM findings WHERE visited_on <= $1 AND outcome <> 'compliant' GROUP BY 1",
        day,
    ):
        counts[category] = {"findings": n, "producers": producers, "serious": serious}
    return assemble(definition("inspection.findings"), day, counts)


async def inspection_campaigns(conn: asyncpg.Connection, day: date) -> Statistic:
    rows = await conn.fetch(
        """
        SELECT year, count(*), coalesce(sum(target_producers), 0),
               coalesce(sum(producers_inspected) FILTER (WHERE closed_on <= $1), 0),
               coalesce(sum(products_inspected) FILTER (WHERE closed_on <= $1), 0)
        FROM campaigns WHERE starts_on <= $1 AND year IS NOT NULL GROUP BY 1
        """,
        day,
    )
    counts = {
        str(r[0]): {
            "campaigns": r[1],
            "target_producers": r[2],
            "producers_inspected": r[3],
            "products_inspected": r[4],
        }
        for r in rows
    }
    return assemble(definition("inspection.campaigns"), day, counts)
