"""Counts of certified products on a day: ever recognised up to it, and valid on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ocop_evaluation.store.common import Conn


@dataclass(frozen=True, slots=True)
class Tally:
    """Products, by the star of the certificate that speaks for them; ``potential_5`` are the
    4★ products with a nomination for 5★ not yet decided on the day (within ``stars[4]``):
    historical nominations by their dates, a round's nominated dossier while it waits at the
    central level (its state today)."""

    total: int
    stars: dict[int, int]
    potential_5: int


@dataclass(frozen=True, slots=True)
class Counts:
    as_of: date
    ever: Tally  # recognised on or before the day (each product once, at its latest star)
    valid: Tally  # holding a certificate valid on the day


_COUNTS = """
WITH latest AS (
    SELECT DISTINCT ON (c.product_id) c.product_id, c.star, c.valid_until, c.ended_on
    FROM certificates c {join}
    WHERE c.decision_date <= $1 {where}
    ORDER BY c.product_id, c.decision_date DESC, c.issued_at DESC, c.id DESC
), marked AS (
    SELECT l.*,
        l.valid_until >= $1 AND (l.ended_on IS NULL OR l.ended_on > $1) AS valid,
        l.star = 4 AND EXISTS (SELECT 1 FROM nominations n WHERE n.product_id = l.product_id
            AND n.decision_date <= $1 AND (n.outcome_date IS NULL OR n.outcome_date > $1))
        OR l.star = 4 AND EXISTS (SELECT 1 FROM entries e WHERE e.product_id = l.product_id
            AND e.level = 'central' AND e.status IN ('waiting', 'entered', 'scored')
            AND e.created_at::date <= $1)
            AS potential
    FROM latest l
)
SELECT count(*) AS ever,
    count(*) FILTER (WHERE star = 3) AS ever_3,
    count(*) FILTER (WHERE star = 4) AS ever_4,
    count(*) FILTER (WHERE star = 5) AS ever_5,
    count(*) FILTER (WHERE potential) AS ever_potential,
    count(*) FILTER (WHERE valid) AS valid,
    count(*) FILTER (WHERE valid AND star = 3) AS valid_3,
    count(*) FILTER (WHERE valid AND star = 4) AS valid_4,
    count(*) FILTER (WHERE valid AND star = 5) AS valid_5,
    count(*) FILTER (WHERE valid AND potential) AS valid_potential
FROM marked
"""


async def certificate_counts(
    conn: Conn, day: date, *, unit: str | None = None, product_set: str | None = None
) -> Counts:
    """One statement: every product's latest certificate decided by ``day``, whether it is
    valid on ``day``, and whether the product then waits for the central council's 5★."""
    args: list[object] = [day]
    where = ""
    join = ""
    if unit is not None or product_set is not None:
        join = "JOIN products p ON p.product_id = c.product_id"
    if unit is not None:
        args.append(unit)
        where += f" AND (p.commune_code = ${len(args)} OR p.district_code = ${len(args)})"
    if product_set is not None:
        args.append(product_set)
        where += f" AND p.product_set = ${len(args)}"
    row = await conn.fetchrow(_COUNTS.format(join=join, where=where), *args)
    assert row is not None

    def tally(prefix: str) -> Tally:
        return Tally(
            total=row[prefix],
            stars={s: row[f"{prefix}_{s}"] for s in (3, 4, 5)},
            potential_5=row[f"{prefix}_potential"],
        )

    return Counts(as_of=day, ever=tally("ever"), valid=tally("valid"))
