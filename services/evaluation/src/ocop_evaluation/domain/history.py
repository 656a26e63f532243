"""Certificates decided before the system: one row of the city's records, checked, and applied
to a product's certificates by the same rules a round's decision follows.

A row is one decision about one product: a first certificate (``certify``), a re-evaluation,
an upgrade, a nomination to the central council for 5★ (``nominate``), the central council's
refusal of that 5★ (``not_upgraded``; a granted 5★ is an ``upgrade`` at the central level), or
a revocation. Rows of a product are applied in decision order; each one either changes the
product's certificates through :mod:`ocop_evaluation.domain.certificates` (so a second live
certificate is refused exactly as in a round) or is refused with the field at fault.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from uuid import UUID

from ocop_evaluation.domain import certificates as certs
from ocop_evaluation.domain.common import (
    BAND_FLOORS,
    CERTIFIED_STARS,
    Level,
    RuleViolation,
    check_level,
)
from ocop_evaluation.domain.levels import may_award_under
from ocop_evaluation.domain.rulebook_model import Rulebook, Rulebooks

COLUMNS = (
    "public_code",
    "registration_number",
    "product_name",
    "action",
    "decision_number",
    "decision_date",
    "level",
    "star",
    "rulebook",
    "rulebook_version",
    "score",
    "certificate_number",
    "grounds",
    "revoked_on",
)
REQUIRED = frozenset({"action", "decision_number", "decision_date"})


class Action(StrEnum):
    CERTIFY = "certify"
    REEVALUATE = "reevaluate"
    UPGRADE = "upgrade"
    NOMINATE = "nominate"
    NOT_UPGRADED = "not_upgraded"
    REVOKE = "revoke"


# Decisions of one day are applied in this order: a city's 4★ before its nomination for 5★,
# a grant before a revocation.
ORDER = {a: i for i, a in enumerate(Action)}
GRANTS = frozenset({Action.CERTIFY, Action.REEVALUATE, Action.UPGRADE})
# Alternative spellings the city's lists use.
ACTIONS = {
    **{a.value: a for a in Action},
    "first_time": Action.CERTIFY,
    "certified": Action.CERTIFY,
    "re_evaluation": Action.REEVALUATE,
    "reevaluated": Action.REEVALUATE,
    "upgraded": Action.UPGRADE,
    "nominated": Action.NOMINATE,
    "revoked": Action.REVOKE,
}


def name_key(name: str) -> str:
    """A product name as compared: NFC, case and spacing ignored."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


@dataclass(frozen=True, slots=True)
class ProductRef:
    """How a row names its product: its public code, or its producer's registration number
    and its name."""

    public_code: str | None = None
    registration_number: str | None = None
    product_name: str | None = None

    @property
    def key(self) -> str:
        if self.public_code:
            return f"code:{self.public_code}"
        return f"name:{self.registration_number}:{name_key(self.product_name or '')}"


@dataclass(frozen=True, slots=True)
class HistoryRow:
    line: int  # the row's line in the file, the header being line 1
    product: ProductRef
    action: Action
    decision_number: str
    decision_date: date
    level: Level | None = None
    star: int | None = None
    rulebook: Rulebook | None = None
    score: Decimal | None = None
    certificate_number: str | None = None
    grounds: tuple[certs.RevocationGround, ...] = ()
    revoked_on: date | None = None

    @property
    def fingerprint(self) -> str:
        """The row's values as recorded: the same row loaded again matches it exactly."""
        parts = [
            self.action.value,
            self.decision_date.isoformat(),
            self.level.value if self.level else "",
            str(self.star or ""),
            str(self.rulebook.ref) if self.rulebook else "",
            str(self.score) if self.score is not None else "",
            self.certificate_number or "",
            ";".join(g.value for g in self.grounds),
            self.revoked_on.isoformat() if self.revoked_on else "",
        ]
        return "|".join(parts)


def _date(raw: Mapping[str, str], field: str) -> date | None:
    value = raw.get(field, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RuleViolation(field, f"{value[:20]!r} is not a date like 2021-12-31") from None


def _int(raw: Mapping[str, str], field: str) -> int | None:
    value = raw.get(field, "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 4:
        raise RuleViolation(field, f"{value[:20]!r} is not a whole number")
    return int(value)


def _score(raw: Mapping[str, str]) -> Decimal | None:
    value = raw.get("score", "").replace(",", ".")
    if not value:
        return None
    try:
        exact = Decimal(value)
    except InvalidOperation:
        raise RuleViolation("score", f"{value[:20]!r} is not a number") from None
    if not exact.is_finite() or not 0 <= exact <= 100:
        raise RuleViolation("score", f"a score is between 0 and 100, not {value[:20]}")
    return exact


def _product(raw: Mapping[str, str]) -> ProductRef:
    code = raw.get("public_code", "")
    number = raw.get("registration_number", "")
    name = raw.get("product_name", "")
    if code:
        if len(code) > 40:
            raise RuleViolation("public_code", "a public code has at most 40 characters")
        return ProductRef(public_code=code)
    if number and name:
        if len(number) > 40 or len(name) > 300:
            raise RuleViolation("product_name", "registration number or name too long")
        return ProductRef(registration_number=number, product_name=name)
    raise RuleViolation(
        "public_code",
        "name the product by public_code, or by registration_number and product_name",
    )


def _rulebook(raw: Mapping[str, str], day: date, books: Rulebooks) -> Rulebook:
    rulebook_id = raw.get("rulebook", "").removesuffix("/QĐ-TTg").strip()
    if not rulebook_id:
        raise RuleViolation("rulebook", "a certificate names the rules it was decided under")
    version = _int(raw, "rulebook_version")
    known = sorted({b.ref.id for b in books.all})
    if rulebook_id not in known:
        raise RuleViolation(
            "rulebook", f"{rulebook_id[:20]!r} is not a rulebook; known: {', '.join(known)}"
        )
    if version is not None:
        try:
            book = books.get(rulebook_id, version)
        except RuleViolation as exc:
            raise RuleViolation("rulebook_version", exc.reason) from None
    else:
        versions = [b for b in books.all if b.ref.id == rulebook_id and b.in_force_from <= day]
        if not versions:
            first = min(b.in_force_from for b in books.all if b.ref.id == rulebook_id)
            raise RuleViolation(
                "rulebook",
                f"{rulebook_id} took effect on {first.isoformat()}, after this decision "
                f"({day.isoformat()})",
            )
        book = max(versions, key=lambda b: b.in_force_from)
    if book.in_force_from > day:
        raise RuleViolation(
            "rulebook",
            f"{book.title} took effect on {book.in_force_from.isoformat()}, after this "
            f"decision ({day.isoformat()})",
        )
    return book


def _grounds(raw: Mapping[str, str]) -> tuple[certs.RevocationGround, ...]:
    out: list[certs.RevocationGround] = []
    for part in raw.get("grounds", "").replace("|", ";").split(";"):
        value = part.strip()
        if not value:
            continue
        try:
            ground = certs.RevocationGround(value)
        except ValueError:
            known = ", ".join(g.value for g in certs.RevocationGround)
            raise RuleViolation(
                "grounds", f"{value[:40]!r} is not a revocation ground; known: {known}"
            ) from None
        if ground not in out:
            out.append(ground)
    if not out:
        raise RuleViolation("grounds", "a revocation needs at least one ground")
    return tuple(out)


def parse_row(line: int, raw: Mapping[str, str], books: Rulebooks, today: date) -> HistoryRow:
    """One CSV row (keys lower-case, values stripped) checked on its own; ``RuleViolation``
    names the first field at fault."""
    product = _product(raw)
    action = ACTIONS.get(raw.get("action", "").casefold())
    if action is None:
        raise RuleViolation("action", "must be one of " + ", ".join(a.value for a in Action))
    number = raw.get("decision_number", "")
    if not number or len(number) > 80:
        raise RuleViolation("decision_number", "the decision's number (at most 80 characters)")
    day = _date(raw, "decision_date")
    if day is None:
        raise RuleViolation("decision_date", "the date the decision was signed")
    if day > today:
        raise RuleViolation("decision_date", f"{day.isoformat()} is in the future")
    row = HistoryRow(line, product, action, number, day, score=_score(raw))
    if action is Action.REVOKE:
        revoked_on = _date(raw, "revoked_on")
        if revoked_on is not None and revoked_on < day:
            raise RuleViolation("revoked_on", "a revocation takes effect on or after its decision")
        return replace(row, grounds=_grounds(raw), revoked_on=revoked_on)
    level = check_level(raw.get("level", "") or "-")
    if action in (Action.NOMINATE, Action.NOT_UPGRADED):
        if level is not Level.CENTRAL:
            raise RuleViolation("level", "a nomination for 5★ goes to the central level")
        if action is Action.NOMINATE and row.score is not None and row.score < Decimal(90):
            raise RuleViolation("score", "a nomination for 5★ needs at least 90 points")
        return replace(row, level=level)
    star = _int(raw, "star")
    if star is None or star not in CERTIFIED_STARS:
        raise RuleViolation("star", "a certificate is 3★, 4★ or 5★")
    book = _rulebook(raw, day, books)
    permission = may_award_under(book, level, star)
    if not permission:
        raise RuleViolation("star", permission.reason or "not awarded at this level")
    floor = dict(BAND_FLOORS)[star]
    if row.score is not None and row.score < floor:
        raise RuleViolation("score", f"{row.score} points is below the {floor} a {star}★ needs")
    number_given = raw.get("certificate_number", "") or None
    if number_given is not None and len(number_given) > 60:
        raise RuleViolation("certificate_number", "at most 60 characters")
    return replace(row, level=level, star=star, rulebook=book, certificate_number=number_given)


@dataclass(frozen=True, slots=True)
class Nomination:
    decision_number: str
    decision_date: date
    to_level: Level
    score: Decimal | None
    outcome: str | None = None  # None while the central council has not decided
    outcome_decision: str | None = None
    outcome_date: date | None = None


@dataclass(frozen=True, slots=True)
class ProductHistory:
    """A product's certificates and nominations while rows are applied."""

    certificates: certs.ProductCertificates
    nominations: tuple[Nomination, ...] = ()

    @property
    def open_nomination(self) -> Nomination | None:
        return next((n for n in self.nominations if n.outcome is None), None)


def _closing(history: ProductHistory, row: HistoryRow, outcome: str) -> tuple[Nomination, ...]:
    return tuple(
        replace(
            n, outcome=outcome, outcome_decision=row.decision_number, outcome_date=row.decision_date
        )
        if n.outcome is None
        else n
        for n in history.nominations
    )


def apply_row(
    history: ProductHistory, row: HistoryRow, certificate_id: UUID
) -> tuple[ProductHistory, list[certs.CertificateEvent]]:
    """``row`` applied to ``history``; a refusal raises ``RuleViolation`` naming the field."""
    current = history.certificates
    live = current.live
    if row.action is Action.REVOKE:
        if live is None or live.valid_until < row.decision_date:
            raise RuleViolation("action", "the product holds no live certificate to revoke")
        after, events = certs.revoke(
            current, row.grounds, row.decision_number, row.decision_date, row.revoked_on
        )
        return replace(history, certificates=after), list(events)
    if row.action is Action.NOMINATE:
        if live is None or live.valid_until < row.decision_date:
            raise RuleViolation(
                "action", "a nominated product carries a live certificate (the city's 4★)"
            )
        if history.open_nomination is not None:
            raise RuleViolation(
                "action",
                f"already nominated by {history.open_nomination.decision_number}, "
                "not yet decided at the central level",
            )
        nomination = Nomination(row.decision_number, row.decision_date, Level.CENTRAL, row.score)
        return replace(history, nominations=(*history.nominations, nomination)), []
    if row.action is Action.NOT_UPGRADED:
        if history.open_nomination is None:
            raise RuleViolation("action", "the product has no nomination waiting for a result")
        return replace(history, nominations=_closing(history, row, "not_upgraded")), []
    assert row.level is not None and row.star is not None and row.rulebook is not None
    grant = certs.Grant(
        certificate_id=certificate_id,
        star=row.star,
        level=row.level,
        decision_number=row.decision_number,
        decision_date=row.decision_date,
        rulebook=row.rulebook.ref,
        score=row.score,
    )
    try:
        if row.action is Action.CERTIFY:
            after, events = certs.certify(current, grant)
        elif row.action is Action.REEVALUATE:
            after, events = certs.reevaluate(current, grant)
        else:
            after, events = certs.upgrade(current, grant)
    except RuleViolation as exc:
        # The aggregate's own words; "certificate" is the product's state, which the row's
        # action (or its date) clashes with.
        field = "action" if exc.field in ("certificate", "certificate_id") else exc.field
        raise RuleViolation(field, exc.reason) from None
    nominations = history.nominations
    if row.action is Action.UPGRADE and row.level is Level.CENTRAL:
        nominations = _closing(history, row, "upgraded")
    return ProductHistory(after, nominations), list(events)


def in_order(rows: list[HistoryRow]) -> list[HistoryRow]:
    """Rows in the order they are applied: by decision date, a day's grants first."""
    return sorted(rows, key=lambda r: (r.decision_date, ORDER[r.action], r.line))
