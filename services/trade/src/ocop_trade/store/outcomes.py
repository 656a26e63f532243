"""The outcome ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page
from ocop_trade import domain
from ocop_trade.store.common import Conn

_FIGURES = ("sales_vnd", "quantity", "contracts_signed", "contracts_value_vnd", "buyers_met")


@dataclass(frozen=True)
class RecordedOutcome:
    outcome: domain.Outcome
    recorded_at: datetime


def _outcome(row: asyncpg.Record) -> RecordedOutcome:
    return RecordedOutcome(
        domain.Outcome(
            id=row["id"],
            producer_id=row["producer_id"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            event_id=row["event_id"],
            outlet_id=row["outlet_id"],
            product_id=row["product_id"],
            **{name: int(row[name]) for name in _FIGURES},
        ),
        row["recorded_at"],
    )


async def get_outcome(conn: Conn, outcome_id: UUID) -> RecordedOutcome | None:
    row = await conn.fetchrow("SELECT * FROM outcomes WHERE id = $1", outcome_id)
    return _outcome(row) if row else None


async def save_outcome(conn: asyncpg.Connection, o: domain.Outcome, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO outcomes (id, event_id, outlet_id, producer_id, product_id, period_start,"
        " period_end, sales_vnd, quantity, contracts_signed, contracts_value_vnd, buyers_met,"
        " recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        " ON CONFLICT (id) DO UPDATE SET period_start = EXCLUDED.period_start,"
        " period_end = EXCLUDED.period_end, sales_vnd = EXCLUDED.sales_vnd,"
        " quantity = EXCLUDED.quantity, contracts_signed = EXCLUDED.contracts_signed,"
        " contracts_value_vnd = EXCLUDED.contracts_value_vnd, buyers_met = EXCLUDED.buyers_met,"
        " recorded_at = EXCLUDED.recorded_at",
        o.id,
        o.event_id,
        o.outlet_id,
        o.producer_id,
        o.product_id,
        o.period_start,
        o.period_end,
        o.sales_vnd,
        o.quantity,
        o.contracts_signed,
        o.contracts_value_vnd,
        o.buyers_met,
        at,
    )


async def event_totals(conn: Conn, event_id: UUID) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT count(DISTINCT producer_id) AS producers, count(DISTINCT product_id) AS products,"
        " coalesce(sum(sales_vnd), 0) AS sales_vnd,"
        " coalesce(sum(contracts_signed), 0) AS contracts_signed,"
        " coalesce(sum(contracts_value_vnd), 0) AS contracts_value_vnd"
        " FROM outcomes WHERE event_id = $1",
        event_id,
    )
    return {k: int(v) for k, v in dict(row).items()}


OUTCOME_SORTS = {
    "period_start": Sort("x.period_start", "date"),
    "-period_start": Sort("x.period_start", "date", descending=True),
}


@dataclass(frozen=True)
class OutcomeFilter:
    event_id: UUID | None = None
    outlet_id: UUID | None = None
    producer_id: UUID | None = None
    product_id: UUID | None = None
    from_date: date | None = None
    to_date: date | None = None


async def list_outcomes(
    conn: Conn, f: OutcomeFilter, keyset: Keyset
) -> tuple[list[RecordedOutcome], Page]:
    q = Query()
    for column, value in (
        ("x.event_id", f.event_id),
        ("x.outlet_id", f.outlet_id),
        ("x.producer_id", f.producer_id),
        ("x.product_id", f.product_id),
    ):
        if value is not None:
            q.add(f"{column} = {{}}", value)
    if f.from_date is not None:
        q.add("x.period_end >= {}", f.from_date)
    if f.to_date is not None:
        q.add("x.period_start <= {}", f.to_date)
    page = await fetch_page(
        conn, "SELECT x.*", q, keyset, id_column="x.id", count_from="FROM outcomes x"
    )
    return [_outcome(r) for r in page.rows], page
