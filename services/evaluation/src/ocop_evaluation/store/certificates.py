"""Certificates and inspection's recommendations to revoke them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import asyncpg

from ocop_evaluation import domain
from ocop_evaluation.store.common import Conn, lock
from ocop_runtime.paging import Keyset, Page, Query, Sort, fetch_page


def revocation_document(r: domain.Revocation) -> dict[str, Any]:
    """A revocation as the ``revocation`` column keeps it (and the API shows it)."""
    return {
        "grounds": [g.value for g in r.grounds],
        "decision_number": r.decision_number,
        "decision_date": r.decision_date.isoformat(),
        "revoked_on": r.revoked_on.isoformat(),
    }


def _revocation(document: dict[str, Any]) -> domain.Revocation:
    return domain.Revocation(
        grounds=tuple(domain.RevocationGround(g) for g in document["grounds"]),
        decision_number=document["decision_number"],
        decision_date=date.fromisoformat(document["decision_date"]),
        revoked_on=date.fromisoformat(document["revoked_on"]),
    )


def _certificate(row: asyncpg.Record) -> domain.CertificateRecord:
    certificate = domain.Certificate(
        id=row["id"],
        product_id=row["product_id"],
        star=row["star"],
        level=domain.Level(row["level"]),
        decision_number=row["decision_number"],
        decision_date=row["decision_date"],
        valid_until=row["valid_until"],
        rulebook=domain.RulebookRef(row["rulebook"], row["rulebook_version"]),
        score=Decimal(row["score"]) if row["score"] is not None else None,
        replaces=row["replaces"],
        state=domain.CertificateState(row["state"]),
        ended_on=row["ended_on"],
        replaced_by=row["replaced_by"],
        replacement=domain.Replacement(row["replacement"]) if row["replacement"] else None,
        revocation=_revocation(json.loads(row["revocation"])) if row["revocation"] else None,
    )
    return domain.CertificateRecord(
        certificate=certificate,
        number=row["number"],
        application_id=row["application_id"],
        notices_sent=tuple(row["notices_sent"]),
        issued_at=row["issued_at"],
    )


async def product_certificates(
    conn: Conn, product_id: UUID, *, for_update: bool = False
) -> list[domain.CertificateRecord]:
    """A product's certificates, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM certificates WHERE product_id = $1"
        f" ORDER BY decision_date, issued_at{lock(for_update)}",
        product_id,
    )
    return [_certificate(r) for r in rows]


async def get_certificate(conn: Conn, certificate_id: UUID) -> domain.CertificateRecord | None:
    row = await conn.fetchrow("SELECT * FROM certificates WHERE id = $1", certificate_id)
    return _certificate(row) if row else None


async def certificates_of_products(
    conn: asyncpg.Connection, product_ids: Sequence[UUID]
) -> dict[UUID, list[domain.CertificateRecord]]:
    """Every product's certificates, locked, oldest first, in one statement."""
    rows = await conn.fetch(
        "SELECT * FROM certificates WHERE product_id = ANY($1::uuid[])"
        " ORDER BY product_id, decision_date, issued_at FOR UPDATE",
        list(product_ids),
    )
    out: dict[UUID, list[domain.CertificateRecord]] = {}
    for r in rows:
        out.setdefault(r["product_id"], []).append(_certificate(r))
    return out


async def reserve_certificate_numbers(conn: asyncpg.Connection, year: int, count: int) -> int:
    """The first of ``count`` consecutive certificate numbers of ``year``."""
    if count == 0:
        return 0
    last = await conn.fetchval(
        "INSERT INTO certificate_numbers VALUES ($1, $2) ON CONFLICT (year) DO UPDATE"
        " SET last_sequence = certificate_numbers.last_sequence + $2 RETURNING last_sequence",
        year,
        count,
    )
    return int(last) - count + 1


async def save_certificates(
    conn: asyncpg.Connection, records: Sequence[domain.CertificateRecord]
) -> None:
    if records:
        await conn.executemany(_SAVE_CERTIFICATE, [_certificate_args(r) for r in records])


def _certificate_args(r: domain.CertificateRecord) -> tuple[Any, ...]:
    c = r.certificate
    return (
        c.id,
        r.number,
        c.product_id,
        r.application_id,
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
        json.dumps(revocation_document(c.revocation)) if c.revocation else None,
        list(r.notices_sent),
        r.issued_at,
    )


_SAVE_CERTIFICATE = (
    "INSERT INTO certificates (id, number, product_id, application_id, star, level, score,"
    " decision_number, decision_date, valid_until, rulebook, rulebook_version, replaces,"
    " state, ended_on, replaced_by, replacement, revocation, notices_sent, issued_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
    " $18::jsonb, $19, $20)"
    " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, ended_on = EXCLUDED.ended_on,"
    " replaced_by = EXCLUDED.replaced_by, replacement = EXCLUDED.replacement,"
    " revocation = EXCLUDED.revocation, notices_sent = EXCLUDED.notices_sent"
)


async def set_notices_sent(
    conn: asyncpg.Connection, certificate_id: UUID, sent: Sequence[int]
) -> None:
    await conn.execute(
        "UPDATE certificates SET notices_sent = $2 WHERE id = $1", certificate_id, list(sent)
    )


async def certificates_ending_by(
    conn: asyncpg.Connection, day: date, *, limit: int = 1000
) -> list[domain.CertificateRecord]:
    """Live certificates whose last valid day is ``day`` or earlier, claimed (SKIP LOCKED) so
    that replicas sweeping side by side take different ones."""
    rows = await conn.fetch(
        "SELECT * FROM certificates WHERE state = $2 AND valid_until <= $1"
        f" ORDER BY valid_until, id LIMIT {int(limit)} FOR UPDATE SKIP LOCKED",
        day,
        domain.CertificateState.LIVE.value,
    )
    return [_certificate(r) for r in rows]


CERTIFICATE_SORTS = {
    "valid_until": Sort("c.valid_until", "date"),
    "-valid_until": Sort("c.valid_until", "date", descending=True),
    "decision_date": Sort("c.decision_date", "date"),
    "-decision_date": Sort("c.decision_date", "date", descending=True),
}
"""The orders of the certificate list; the first (soonest ending first) is the default."""
EXPIRING_SORTS = {"expiring": Sort("c.valid_until", "date")}
"""The expiry radar's one order, soonest ending first, under a name of its own: a cursor of
the certificate list is refused there, and one of the radar on the certificate list."""


VALID_ON = (
    "(c.decision_date <= {} AND c.valid_until >= {} AND (c.ended_on IS NULL OR c.ended_on > {}))"
)
"""Valid on a day: decided by then, within its 36 months, not yet ended (replaced, revoked)."""
LATEST_BY = (
    "(c.decision_date <= {} AND NOT EXISTS (SELECT 1 FROM certificates l"
    " WHERE l.product_id = c.product_id AND l.decision_date <= {}"
    " AND (l.decision_date, l.issued_at, l.id) > (c.decision_date, c.issued_at, c.id)))"
)
"""The latest certificate of its product decided by a day: one row per product recognised."""


@dataclass(frozen=True)
class CertificateFilter:
    """``unit`` matches the product's commune or pre-2025 district (from the local copy of
    registry's products); ``ending_by`` the last valid day, at the latest."""

    product_id: UUID | None = None
    star: int | None = None
    state: domain.CertificateState | None = None
    level: domain.Level | None = None
    ending_by: date | None = None
    product_set: str | None = None
    unit: str | None = None
    round_id: UUID | None = None
    # The certificates valid on a day (by their dates, whatever their state today), or the
    # latest certificate of every product recognised on or before a day.
    valid_on: date | None = None
    recognised_by: date | None = None


async def list_certificates(
    conn: Conn, f: CertificateFilter, keyset: Keyset
) -> tuple[list[domain.CertificateRecord], Page]:
    """One page of certificates, in ``keyset``'s order."""
    q = Query()
    tables = "FROM certificates c"
    if f.product_set is not None or f.unit is not None:
        tables += " JOIN products p ON p.product_id = c.product_id"
    if f.product_id is not None:
        q.add("c.product_id = {}", f.product_id)
    if f.star is not None:
        q.add("c.star = {}", f.star)
    if f.state is not None:
        q.add("c.state = {}", f.state.value)
    if f.level is not None:
        q.add("c.level = {}", f.level.value)
    if f.ending_by is not None:
        q.add("c.valid_until <= {}", f.ending_by)
    if f.product_set is not None:
        q.add("p.product_set = {}", f.product_set)
    if f.unit is not None:
        q.add("(p.commune_code = {} OR p.district_code = {})", f.unit, f.unit)
    if f.round_id is not None:
        q.add(
            "c.application_id IN (SELECT application_id FROM entries WHERE round_id = {})",
            f.round_id,
        )
    if f.valid_on is not None:
        q.add(VALID_ON, f.valid_on, f.valid_on, f.valid_on)
    if f.recognised_by is not None:
        q.add(LATEST_BY, f.recognised_by, f.recognised_by)
    page = await fetch_page(conn, "SELECT c.*", q, keyset, id_column="c.id", count_from=tables)
    return [_certificate(r) for r in page.rows], page


def _recommendation(row: asyncpg.Record) -> domain.Recommendation:
    return domain.Recommendation(
        id=row["id"],
        product_id=row["product_id"],
        certificate_id=row["certificate_id"],
        grounds=tuple(row["grounds"]),
        findings=tuple(row["findings"]),
        recommended_at=row["recommended_at"],
        decided=domain.RecommendationDecision(row["decided"]) if row["decided"] else None,
    )


async def insert_recommendation(conn: asyncpg.Connection, r: domain.Recommendation) -> None:
    await conn.execute(
        "INSERT INTO revocation_recommendations (id, product_id, certificate_id, grounds,"
        " findings, recommended_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        r.id,
        r.product_id,
        r.certificate_id,
        list(r.grounds),
        list(r.findings),
        r.recommended_at,
    )


async def get_recommendation(
    conn: Conn, recommendation_id: UUID, *, for_update: bool = False
) -> domain.Recommendation | None:
    row = await conn.fetchrow(
        f"SELECT * FROM revocation_recommendations WHERE id = $1{lock(for_update)}",
        recommendation_id,
    )
    return _recommendation(row) if row else None


async def set_recommendation(
    conn: asyncpg.Connection, recommendation_id: UUID, decided: domain.RecommendationDecision
) -> None:
    await conn.execute(
        "UPDATE revocation_recommendations SET decided = $2 WHERE id = $1",
        recommendation_id,
        decided.value,
    )


RECOMMENDATION_SORTS = {
    "recommended_at": Sort("r.recommended_at", "timestamptz"),
    "-recommended_at": Sort("r.recommended_at", "timestamptz", descending=True),
}
"""The orders of the recommendation list; the first (oldest waiting first) is the default."""


RecommendationStatus = Literal["pending", "decided", "revoked", "rejected", "all"]
# Each status as a condition on the row's decision (none for "all").
_RECOMMENDATION_STATUS = {
    "pending": "r.decided IS NULL",
    "decided": "r.decided IS NOT NULL",
    "revoked": "r.decided = 'revoked'",
    "rejected": "r.decided = 'rejected'",
}


@dataclass(frozen=True)
class RecommendationFilter:
    status: RecommendationStatus = "pending"
    product_id: UUID | None = None


async def list_recommendations(
    conn: Conn, f: RecommendationFilter, keyset: Keyset
) -> tuple[list[domain.Recommendation], Page]:
    """One page of inspection's revocation recommendations, in ``keyset``'s order."""
    q = Query()
    if f.status in _RECOMMENDATION_STATUS:
        q.add(_RECOMMENDATION_STATUS[f.status])
    if f.product_id is not None:
        q.add("r.product_id = {}", f.product_id)
    page = await fetch_page(
        conn,
        "SELECT r.*",
        q,
        keyset,
        id_column="r.id",
        count_from="FROM revocation_recommendations r",
    )
    return [_recommendation(r) for r in page.rows], page
