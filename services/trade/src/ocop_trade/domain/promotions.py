"""Promotion events and participations: the status machine, the dates, capacity, and who may
take part with which goods.

planned → registration_open → running → closed → reported; planned or registration_open →
cancelled. Applications are decided while registration is open: the stalls asked must fit in
what is left, the products must be the producer's, and unless the event admits other local
specialties every product must hold a live OCOP certificate on each day of the event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from ocop_runtime.refusals import RuleViolation
from ocop_trade.domain.certificates import CertificateCopy, covered


class PromotionKind(StrEnum):
    FAIR = "fair"
    REGIONAL_CULTURE_WEEK = "regional_culture_week"
    PRODUCT_WEEK = "product_week"
    LIVESTREAM_FESTIVAL = "livestream_festival"
    ONLINE_MARKET = "online_market"
    SUPPLY_DEMAND_FORUM = "supply_demand_forum"
    TRADE_LINK_WORKSHOP = "trade_link_workshop"
    TET_SPACE = "tet_space"


class PromotionStatus(StrEnum):
    PLANNED = "planned"
    REGISTRATION_OPEN = "registration_open"
    RUNNING = "running"
    CLOSED = "closed"
    REPORTED = "reported"
    CANCELLED = "cancelled"


class Step(StrEnum):
    """What the organiser does to an event; each step leads from some statuses to one."""

    OPEN_REGISTRATION = "open_registration"
    START = "start"
    CLOSE = "close"
    REPORT = "report"
    CANCEL = "cancel"


S = PromotionStatus
STEPS: dict[Step, tuple[frozenset[PromotionStatus], PromotionStatus]] = {
    Step.OPEN_REGISTRATION: (frozenset({S.PLANNED}), S.REGISTRATION_OPEN),
    Step.START: (frozenset({S.PLANNED, S.REGISTRATION_OPEN}), S.RUNNING),
    Step.CLOSE: (frozenset({S.RUNNING}), S.CLOSED),
    Step.REPORT: (frozenset({S.CLOSED}), S.REPORTED),
    Step.CANCEL: (frozenset({S.PLANNED, S.REGISTRATION_OPEN}), S.CANCELLED),
}


class ParticipationStatus(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Promotion:
    id: UUID
    kind: PromotionKind
    name: str
    organiser: str
    venue: str
    starts_on: date
    ends_on: date
    capacity: int
    admits_other_goods: bool
    status: PromotionStatus = PromotionStatus.PLANNED
    unit_code: str | None = None
    district_code: str | None = None
    cancel_reason: str | None = None

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


def check_dates(start: date, end: date, start_field: str, end_field: str) -> None:
    if end < start:
        raise RuleViolation(end_field, f"{end} is before {start_field} {start}: dates out of order")


def schedule(p: Promotion) -> Promotion:
    """A new event, checked: its dates in order and a capacity of at least one stall."""
    check_dates(p.starts_on, p.ends_on, "starts_on", "ends_on")
    if p.capacity < 1:
        raise RuleViolation("capacity", "an event has at least one stall or slot")
    if not p.name.strip():
        raise RuleViolation("name", "an event needs a name")
    return replace(p, status=PromotionStatus.PLANNED)


def amend(current: Promotion, changed: Promotion, stalls_taken: int) -> Promotion:
    """New details of an event that has not run yet; the capacity cannot drop below the
    stalls already given."""
    if current.status not in (PromotionStatus.PLANNED, PromotionStatus.REGISTRATION_OPEN):
        raise RuleViolation("status", f"a {current.status} event can no longer be changed")
    check_dates(changed.starts_on, changed.ends_on, "starts_on", "ends_on")
    if changed.capacity < stalls_taken:
        raise RuleViolation(
            "capacity",
            f"{stalls_taken} stalls are already given to accepted producers; capacity cannot"
            f" drop to {changed.capacity}",
        )
    return replace(changed, id=current.id, status=current.status)


def step(p: Promotion, what: Step, reason: str | None = None) -> Promotion:
    """The event after ``what``; a step its status does not allow is refused."""
    allowed, to = STEPS[what]
    if p.status not in allowed:
        shown = ", ".join(sorted(allowed))
        raise RuleViolation(
            "status", f"cannot {what.value.replace('_', ' ')} a {p.status} event (only {shown})"
        )
    if what is Step.CANCEL:
        if not (reason or "").strip():
            raise RuleViolation("reason", "say why the event is cancelled")
        return replace(p, status=to, cancel_reason=reason)
    return replace(p, status=to)


@dataclass(frozen=True)
class Application:
    participation_id: UUID
    event_id: UUID
    producer_id: UUID
    product_ids: tuple[UUID, ...] = ()
    other_goods: tuple[str, ...] = ()
    stalls: int = 1


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str


@dataclass(frozen=True)
class Decision:
    application: Application
    status: ParticipationStatus
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> bool:
        return self.status is ParticipationStatus.ACCEPTED

    @property
    def reasons(self) -> list[str]:
        return [f"{p.field}: {p.reason}" for p in self.problems]


def check_application(p: Promotion, a: Application) -> None:
    """What makes an application malformed whatever the event's state (a 422, not a
    recorded refusal)."""
    if a.stalls < 1:
        raise RuleViolation("stalls", "ask for at least one stall")
    if not a.product_ids and not a.other_goods:
        raise RuleViolation("product_ids", "name the products (or other goods) brought")
    if len(set(a.product_ids)) != len(a.product_ids):
        raise RuleViolation("product_ids", "a product is named twice")


def decide(
    p: Promotion,
    a: Application,
    *,
    stalls_taken: int,
    producer_of: Mapping[UUID, UUID],
    certificates: Mapping[UUID, Sequence[CertificateCopy]],
) -> Decision:
    """Accept or refuse ``a`` for ``p``. ``producer_of`` maps the products trade knows to
    their producers; ``certificates`` holds each product's certificates. A refusal says every
    reason at once: the producer learns all it has to fix."""
    check_application(p, a)
    if p.status is not PromotionStatus.REGISTRATION_OPEN:
        raise RuleViolation(
            "event_id",
            f"the event is {p.status}: applications are taken while registration is open",
        )
    problems: list[Problem] = []
    for product_id in a.product_ids:
        owner = producer_of.get(product_id)
        if owner is not None and owner != a.producer_id:
            problems.append(Problem("product_ids", f"product {product_id} is another producer's"))
            continue
        certified = covered(certificates.get(product_id, ()), p.starts_on, p.ends_on)
        if not certified and not p.admits_other_goods:
            problems.append(
                Problem(
                    "product_ids",
                    f"product {product_id} holds no live OCOP certificate on every day of the"
                    f" event ({p.starts_on} to {p.ends_on}), and the event admits only OCOP"
                    " products",
                )
            )
        elif owner is None and not certified:
            problems.append(
                Problem("product_ids", f"product {product_id} is not in the registry's products")
            )
    if a.other_goods and not p.admits_other_goods:
        problems.append(
            Problem("other_goods", "the event admits only OCOP products with a live certificate")
        )
    left = p.capacity - stalls_taken
    if a.stalls > left:
        problems.append(
            Problem(
                "stalls",
                f"{a.stalls} stalls asked but {left} of {p.capacity} are left: capacity exceeded",
            )
        )
    status = ParticipationStatus.REFUSED if problems else ParticipationStatus.ACCEPTED
    return Decision(a, status, tuple(problems))


def uncovered_products(
    p: Promotion,
    product_ids: Sequence[UUID],
    certificates: Mapping[UUID, Sequence[CertificateCopy]],
) -> list[UUID]:
    """The products of an accepted participation that no longer hold a live certificate on
    every day of an OCOP-only event (a revocation after acceptance): what the event reports."""
    if p.admits_other_goods:
        return []
    return [i for i in product_ids if not covered(certificates.get(i, ()), p.starts_on, p.ends_on)]


def withdraw(status: ParticipationStatus) -> ParticipationStatus:
    if status is not ParticipationStatus.ACCEPTED:
        raise RuleViolation(
            "status", f"only an accepted participation can be withdrawn, not a {status} one"
        )
    return ParticipationStatus.WITHDRAWN
