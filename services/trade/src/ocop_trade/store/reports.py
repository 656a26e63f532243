"""Reports over a date range or a day: promotion events per kind and per unit, points of sale
and what they list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from ocop_trade.store.common import Conn

# Events overlapping the range, not cancelled, with their participants and outcomes; grouped by
# {group} (the kind, or the unit). Producers and products are counted once per group.
_PROMOTIONS = """
WITH e AS (
    SELECT id, kind, coalesce(district_code, unit_code, 'online') AS unit, capacity
    FROM promotions
    WHERE status <> 'cancelled' AND ends_on >= $1 AND starts_on <= $2
), taking AS (
    SELECT e.{group} AS grp, p.producer_id, unnest(p.product_ids) AS product_id, p.stalls, p.id
    FROM participations p JOIN e ON e.id = p.event_id
    WHERE p.status = 'accepted'
), results AS (
    SELECT e.{group} AS grp, coalesce(sum(x.sales_vnd), 0) AS sales_vnd,
           coalesce(sum(x.contracts_signed), 0) AS contracts_signed,
           coalesce(sum(x.contracts_value_vnd), 0) AS contracts_value_vnd,
           coalesce(sum(x.buyers_met), 0) AS buyers_met
    FROM outcomes x JOIN e ON e.id = x.event_id GROUP BY e.{group}
), stalls AS (
    SELECT e.{group} AS grp, coalesce(sum(p.stalls), 0) AS stalls_taken
    FROM participations p JOIN e ON e.id = p.event_id
    WHERE p.status = 'accepted' GROUP BY e.{group}
)
SELECT g.grp, g.events, g.capacity,
       coalesce(s.stalls_taken, 0) AS stalls_taken,
       (SELECT count(DISTINCT producer_id) FROM taking t WHERE t.grp = g.grp) AS producers,
       (SELECT count(DISTINCT product_id) FROM taking t WHERE t.grp = g.grp) AS products,
       coalesce(r.sales_vnd, 0) AS sales_vnd,
       coalesce(r.contracts_signed, 0) AS contracts_signed,
       coalesce(r.contracts_value_vnd, 0) AS contracts_value_vnd,
       coalesce(r.buyers_met, 0) AS buyers_met
FROM (SELECT {group} AS grp, count(*) AS events, sum(capacity) AS capacity FROM e GROUP BY {group}) g
LEFT JOIN results r ON r.grp = g.grp
LEFT JOIN stalls s ON s.grp = g.grp
ORDER BY g.grp
"""


async def promotions(conn: Conn, start: date, end: date) -> dict[str, list[dict[str, Any]]]:
    """Per event kind and per unit (pre-2025 district when known, else the unit, else
    ``online``): events, capacity, stalls taken, producers and products taking part, sales,
    contracts and buyers."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, group in (("by_kind", "kind"), ("by_unit", "unit")):
        rows = await conn.fetch(_PROMOTIONS.format(group=group), start, end)
        out[name] = [{k: (int(v) if k != "grp" else v) for k, v in dict(r).items()} for r in rows]
    return out


async def outlets_summary(
    conn: Conn, on: date, start: date | None, end: date | None
) -> dict[str, Any]:
    """Outlets open on ``on``, the units (pre-2025 districts where known) they stand in, those
    opened between ``start`` and ``end``, and the goods live on ``on`` by star and basis."""
    row = await conn.fetchrow(
        "SELECT count(*) AS open,"
        " count(DISTINCT coalesce(district_code, unit_code)) AS units,"
        " count(DISTINCT district_code) AS districts"
        " FROM outlets WHERE opened_on <= $1 AND (closed_on IS NULL OR closed_on > $1)",
        on,
    )
    opened = None
    if start is not None or end is not None:
        opened = await conn.fetchval(
            "SELECT count(*) FROM outlets WHERE ($1::date IS NULL OR opened_on >= $1)"
            " AND ($2::date IS NULL OR opened_on <= $2)",
            start,
            end,
        )
    by_type = await conn.fetch(
        "SELECT location_type, count(*) AS n FROM outlets WHERE opened_on <= $1"
        " AND (closed_on IS NULL OR closed_on > $1) GROUP BY location_type ORDER BY 1",
        on,
    )
    goods = await listed_goods(conn, None, on)
    return {
        "open": int(row["open"]),
        "units": int(row["units"]),
        "districts": int(row["districts"]),
        "opened_between": int(opened) if opened is not None else None,
        "by_location_type": {r["location_type"]: int(r["n"]) for r in by_type},
        **goods.get(None, {"by_star": {}, "by_basis": {}}),
    }


async def listed_goods(
    conn: Conn, outlet_ids: Sequence[UUID] | None, on: date
) -> dict[UUID | None, dict[str, dict[str, int]]]:
    """Goods on sale on ``on`` (listed by then, not delisted by then, and not suspended now),
    by star and by basis: per outlet for ``outlet_ids``, or over every outlet (key None)."""
    per = "outlet_id" if outlet_ids is not None else "NULL::uuid"
    rows = await conn.fetch(
        f"SELECT {per} AS outlet, basis, star, count(*) AS n FROM listings"
        " WHERE listed_on <= $1 AND (delisted_on IS NULL OR delisted_on > $1)"
        " AND status <> 'suspended'"
        " AND ($2::uuid[] IS NULL OR outlet_id = ANY($2::uuid[]))"
        " GROUP BY 1, 2, 3",
        on,
        list(outlet_ids) if outlet_ids is not None else None,
    )
    out: dict[UUID | None, dict[str, dict[str, int]]] = {}
    for r in rows:
        entry = out.setdefault(r["outlet"], {"by_star": {}, "by_basis": {}})
        if r["star"] is not None:
            star = str(r["star"])
            entry["by_star"][star] = entry["by_star"].get(star, 0) + int(r["n"])
        entry["by_basis"][r["basis"]] = entry["by_basis"].get(r["basis"], 0) + int(r["n"])
    return out
