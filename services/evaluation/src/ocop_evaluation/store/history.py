"""The history import's reads and writes: products by public code or by producer number,
the rows already loaded, nominations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from ocop_evaluation.domain import Level
from ocop_evaluation.domain.history import Nomination, name_key


@dataclass(frozen=True, slots=True)
class KnownProduct:
    product_id: UUID
    public_code: str
    name_key: str
    registration_number: str | None


async def products_named(
    conn: asyncpg.Connection, codes: Sequence[str], numbers: Sequence[str]
) -> list[KnownProduct]:
    """Evaluation's copies of the products with one of ``codes``, or of a producer with one of
    ``numbers``, in one statement."""
    rows = await conn.fetch(
        "SELECT p.product_id, p.public_code, p.name, r.registration_number FROM products p"
        " LEFT JOIN producers r ON r.producer_id = p.producer_id"
        " WHERE p.public_code = ANY($1::text[]) OR r.registration_number = ANY($2::text[])",
        list(codes),
        list(numbers),
    )
    return [
        KnownProduct(
            r["product_id"], r["public_code"], name_key(r["name"]), r["registration_number"]
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class LoadedRow:
    product_id: UUID
    decision_number: str
    fingerprint: str


async def loaded_rows(
    conn: asyncpg.Connection, product_ids: Sequence[UUID]
) -> dict[tuple[UUID, str], LoadedRow]:
    rows = await conn.fetch(
        "SELECT product_id, decision_number, fingerprint FROM history_rows"
        " WHERE product_id = ANY($1::uuid[])",
        list(product_ids),
    )
    return {
        (r["product_id"], r["decision_number"]): LoadedRow(
            r["product_id"], r["decision_number"], r["fingerprint"]
        )
        for r in rows
    }


async def insert_rows(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[UUID, str, str, object, str, UUID | None]],
    at: datetime,
) -> None:
    """(product, decision number, action, decision date, fingerprint, certificate)."""
    if rows:
        await conn.executemany(
            "INSERT INTO history_rows (product_id, decision_number, action, decision_date,"
            " fingerprint, certificate_id, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [(*r, at) for r in rows],
        )


async def existing_numbers(conn: asyncpg.Connection, numbers: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT number FROM certificates WHERE number = ANY($1::text[])", list(numbers)
    )
    return {r["number"] for r in rows}


async def decided_by_rounds(
    conn: asyncpg.Connection, product_ids: Sequence[UUID]
) -> set[tuple[UUID, str]]:
    """(product, decision number) of the certificates recorded by a round's decision."""
    rows = await conn.fetch(
        "SELECT product_id, decision_number FROM certificates c"
        " WHERE product_id = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM history_rows h"
        " WHERE h.product_id = c.product_id AND h.decision_number = c.decision_number)",
        list(product_ids),
    )
    return {(r["product_id"], r["decision_number"]) for r in rows}


async def nominations_of(
    conn: asyncpg.Connection, product_ids: Sequence[UUID]
) -> dict[UUID, list[Nomination]]:
    rows = await conn.fetch(
        "SELECT * FROM nominations WHERE product_id = ANY($1::uuid[])"
        " ORDER BY product_id, decision_date FOR UPDATE",
        list(product_ids),
    )
    out: dict[UUID, list[Nomination]] = {}
    for r in rows:
        out.setdefault(r["product_id"], []).append(
            Nomination(
                decision_number=r["decision_number"],
                decision_date=r["decision_date"],
                to_level=Level(r["to_level"]),
                score=Decimal(r["score"]) if r["score"] is not None else None,
                outcome=r["outcome"],
                outcome_decision=r["outcome_decision"],
                outcome_date=r["outcome_date"],
            )
        )
    return out


async def save_nominations(
    conn: asyncpg.Connection, nominations: Sequence[tuple[UUID, Nomination]]
) -> None:
    if nominations:
        await conn.executemany(
            "INSERT INTO nominations (product_id, decision_number, decision_date, to_level,"
            " score, outcome, outcome_decision, outcome_date)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (product_id, decision_number)"
            " DO UPDATE SET outcome = EXCLUDED.outcome,"
            " outcome_decision = EXCLUDED.outcome_decision, outcome_date = EXCLUDED.outcome_date",
            [
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
                for pid, n in nominations
            ],
        )
