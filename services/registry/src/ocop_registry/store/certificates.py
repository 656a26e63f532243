"""The projection of evaluation's certificates: a history per product, and the current one
copied onto the product row for lists and filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from ocop_registry.domain.certificates import Certificate
from ocop_runtime.db import insert_statement
from ocop_runtime.paging import Conn

# The columns of a certificate, named as the fields of ``Certificate``.
_CERT_COLUMNS = (
    "id",
    "number",
    "product_id",
    "star",
    "level",
    "decision_number",
    "decision_date",
    "valid_from",
    "valid_until",
    "rulebook",
    "score",
    "replaces_id",
    "revoked_on",
    "revocation_grounds",
    "expired_on",
)
_CERT = ", ".join(_CERT_COLUMNS)
_CERT_INSERT = (
    insert_statement("certificates", (*_CERT_COLUMNS, "recorded_at"))
    + " ON CONFLICT (id) DO NOTHING"
)


def certificate_columns(table: str, prefix: str) -> str:
    """The certificate's columns of ``table`` (an alias in a join), each named ``prefix`` and
    the column's name, for :func:`certificate_of` to read them back."""
    return ", ".join(f"{table}.{c} AS {prefix}{c}" for c in _CERT_COLUMNS)


def certificate_of(r: asyncpg.Record, prefix: str = "") -> Certificate:
    """The certificate in ``r``'s columns (named ``prefix`` and the column's name)."""
    values = {c: r[f"{prefix}{c}"] for c in _CERT_COLUMNS}
    values["revocation_grounds"] = tuple(values["revocation_grounds"])
    return Certificate(**values)


async def record_certificate(conn: asyncpg.Connection, c: Certificate, at: datetime) -> None:
    await conn.execute(
        _CERT_INSERT,
        c.id,
        c.number,
        c.product_id,
        c.star,
        c.level,
        c.decision_number,
        c.decision_date,
        c.valid_from,
        c.valid_until,
        c.rulebook,
        c.score,
        c.replaces_id,
        c.revoked_on,
        list(c.revocation_grounds),
        c.expired_on,
        at,
    )


async def end_certificate(
    conn: asyncpg.Connection,
    certificate_id: UUID,
    *,
    revoked_on: date | None = None,
    grounds: Sequence[str] = (),
    expired_on: date | None = None,
) -> bool:
    status = await conn.execute(
        "UPDATE certificates SET revoked_on = coalesce($2, revoked_on),"
        " revocation_grounds = CASE WHEN $2::date IS NULL THEN revocation_grounds ELSE $3 END,"
        " expired_on = coalesce($4, expired_on) WHERE id = $1",
        certificate_id,
        revoked_on,
        list(grounds),
        expired_on,
    )
    return bool(status.endswith(" 1"))


async def certificates_of(conn: Conn, product_id: UUID) -> list[Certificate]:
    rows = await conn.fetch(
        f"SELECT {_CERT} FROM certificates WHERE product_id = $1 ORDER BY valid_from, recorded_at",
        product_id,
    )
    return [certificate_of(r) for r in rows]


async def set_current_certificate(
    conn: asyncpg.Connection, product_id: UUID, c: Certificate | None
) -> None:
    await conn.execute(
        "UPDATE products SET certificate_id = $2, star = $3, certificate_number = $4,"
        " certificate_from = $5, certificate_until = $6, certificate_revoked = $7,"
        " certificate_expired = $8 WHERE id = $1",
        product_id,
        c.id if c else None,
        c.star if c else None,
        c.number if c else None,
        c.valid_from if c else None,
        c.valid_until if c else None,
        c.revoked_on if c else None,
        c.expired_on if c else None,
    )
