"""The outcome ledger: what an event or an outlet brought a producer (and product).

An event's outcome belongs to a producer that took part (an accepted participation), for a
product it brought, recorded once the event has run; an outlet's to a producer whose goods the
outlet lists (or listed), over a period while the outlet was open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from ocop_runtime.refusals import RuleViolation
from ocop_trade.domain.outlets import Listing, Outlet
from ocop_trade.domain.promotions import (
    Promotion,
    PromotionStatus,
    check_dates,
)


@dataclass(frozen=True)
class Outcome:
    id: UUID
    producer_id: UUID
    period_start: date
    period_end: date
    event_id: UUID | None = None
    outlet_id: UUID | None = None
    product_id: UUID | None = None
    sales_vnd: int = 0
    quantity: int = 0
    contracts_signed: int = 0
    contracts_value_vnd: int = 0
    buyers_met: int = 0


def _check_figures(o: Outcome) -> None:
    check_dates(o.period_start, o.period_end, "period_start", "period_end")
    for name in ("sales_vnd", "quantity", "contracts_signed", "contracts_value_vnd", "buyers_met"):
        if getattr(o, name) < 0:
            raise RuleViolation(name, "cannot be negative")
    if o.contracts_value_vnd and not o.contracts_signed:
        raise RuleViolation("contracts_value_vnd", "a contract value needs contracts signed")
    if (o.event_id is None) == (o.outlet_id is None):
        raise RuleViolation("event_id", "name either the event or the outlet, not both or neither")


@dataclass(frozen=True)
class Taking:
    """An accepted participation, as the ledger needs it."""

    producer_id: UUID
    product_ids: tuple[UUID, ...]


def for_event(o: Outcome, event: Promotion, taking: Taking | None) -> Outcome:
    _check_figures(o)
    if event.status not in (
        PromotionStatus.RUNNING,
        PromotionStatus.CLOSED,
        PromotionStatus.REPORTED,
    ):
        raise RuleViolation(
            "event_id", f"the event is {event.status}: outcomes are recorded once it has run"
        )
    if taking is None:
        raise RuleViolation(
            "producer_id", f"producer {o.producer_id} did not take part in event {event.id}"
        )
    if o.product_id is not None and o.product_id not in taking.product_ids:
        raise RuleViolation(
            "product_id", f"product {o.product_id} was not among the products brought to the event"
        )
    return o


def for_outlet(o: Outcome, outlet: Outlet, listings: Sequence[Listing]) -> Outcome:
    _check_figures(o)
    if o.period_start < outlet.opened_on:
        raise RuleViolation(
            "period_start", f"{o.period_start} is before the outlet opened ({outlet.opened_on})"
        )
    if outlet.closed_on is not None and o.period_start >= outlet.closed_on:
        raise RuleViolation("period_start", f"the outlet closed on {outlet.closed_on}")
    mine = [x for x in listings if x.producer_id == o.producer_id]
    if not mine:
        raise RuleViolation("producer_id", f"the outlet lists no goods of producer {o.producer_id}")
    if o.product_id is not None and all(x.product_id != o.product_id for x in mine):
        raise RuleViolation("product_id", f"the outlet does not list product {o.product_id}")
    return o
