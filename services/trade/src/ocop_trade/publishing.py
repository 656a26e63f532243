"""Trade's domain facts as the contract events it publishes, in one place. No event carries a
producer's name (a household business's name is a person's): only ids."""

from __future__ import annotations

from datetime import datetime

from ocop_contracts import Event
from ocop_contracts.events import trade as contract
from ocop_trade import domain


def promotion_scheduled(p: domain.Promotion, at: datetime) -> contract.PromotionScheduled:
    return contract.PromotionScheduled(
        event_id=p.id,
        kind=contract.PromotionKind(p.kind.value),
        name=p.name,
        organiser=p.organiser,
        venue=p.venue,
        unit_code=p.unit_code,
        district_code=p.district_code,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        capacity=p.capacity,
        admits_other_goods=p.admits_other_goods,
        scheduled_at=at,
    )


def promotion_stepped(
    p: domain.Promotion,
    what: domain.Step,
    at: datetime,
    *,
    participants: int = 0,
    stalls: int = 0,
    totals: dict[str, int] | None = None,
) -> Event:
    """The event of one step of the status machine."""
    if what is domain.Step.OPEN_REGISTRATION:
        return contract.RegistrationOpened(event_id=p.id, opened_at=at)
    if what is domain.Step.START:
        return contract.PromotionStarted(
            event_id=p.id, participants=participants, stalls_taken=stalls, started_at=at
        )
    if what is domain.Step.CLOSE:
        return contract.PromotionClosed(
            event_id=p.id, participants=participants, stalls_taken=stalls, closed_at=at
        )
    if what is domain.Step.REPORT:
        t = totals or {}
        return contract.PromotionReported(
            event_id=p.id,
            producers=t.get("producers", 0),
            products=t.get("products", 0),
            sales_vnd=t.get("sales_vnd", 0),
            contracts_signed=t.get("contracts_signed", 0),
            contracts_value_vnd=t.get("contracts_value_vnd", 0),
            reported_at=at,
        )
    return contract.PromotionCancelled(event_id=p.id, reason=p.cancel_reason or "", cancelled_at=at)


def participation_decided(d: domain.Decision, at: datetime) -> Event:
    a = d.application
    if d.accepted:
        return contract.ParticipationAccepted(
            participation_id=a.participation_id,
            event_id=a.event_id,
            producer_id=a.producer_id,
            product_ids=list(a.product_ids),
            other_goods=list(a.other_goods),
            stalls=a.stalls,
            accepted_at=at,
        )
    return contract.ParticipationRefused(
        participation_id=a.participation_id,
        event_id=a.event_id,
        producer_id=a.producer_id,
        product_ids=list(a.product_ids),
        reasons=d.reasons,
        refused_at=at,
    )


def participation_withdrawn(
    a: domain.Application, reason: str, at: datetime
) -> contract.ParticipationWithdrawn:
    return contract.ParticipationWithdrawn(
        participation_id=a.participation_id,
        event_id=a.event_id,
        producer_id=a.producer_id,
        reason=reason,
        withdrawn_at=at,
    )


def outcome_recorded(o: domain.Outcome, at: datetime) -> contract.OutcomeRecorded:
    return contract.OutcomeRecorded(
        outcome_id=o.id,
        event_id=o.event_id,
        outlet_id=o.outlet_id,
        producer_id=o.producer_id,
        product_id=o.product_id,
        period_start=o.period_start,
        period_end=o.period_end,
        sales_vnd=o.sales_vnd,
        quantity=o.quantity,
        contracts_signed=o.contracts_signed,
        contracts_value_vnd=o.contracts_value_vnd,
        buyers_met=o.buyers_met,
        recorded_at=at,
    )


def outlet_opened(o: domain.Outlet, at: datetime) -> contract.OutletOpened:
    return contract.OutletOpened(
        outlet_id=o.id,
        name=o.name,
        operator=o.operator,
        location_type=contract.LocationType(o.location_type.value),
        unit_code=o.unit_code,
        district_code=o.district_code,
        opened_on=o.opened_on,
        opened_at=at,
    )


def outlet_closed(o: domain.Outlet, at: datetime) -> contract.OutletClosed:
    assert o.closed_on is not None
    return contract.OutletClosed(
        outlet_id=o.id, closed_on=o.closed_on, reason=o.close_reason or "", closed_at=at
    )


def product_listed(x: domain.Listing, at: datetime) -> contract.ProductListed:
    return contract.ProductListed(
        listing_id=x.id,
        outlet_id=x.outlet_id,
        basis=contract.ListingBasis(x.basis.value),
        goods_name=x.goods_name,
        product_id=x.product_id,
        producer_id=x.producer_id,
        star=x.star,
        certificate_id=x.certificate_id,
        listed_on=x.listed_on,
        listed_at=at,
    )


def listing_changed(c: domain.Change, at: datetime) -> Event | None:
    """The event of a listing following its product's certificates (none for a re-stamp)."""
    x = c.listing
    assert x.product_id is not None
    if c.suspended:
        return contract.ListingSuspended(
            listing_id=x.id,
            outlet_id=x.outlet_id,
            product_id=x.product_id,
            reason=x.suspension_reason or domain.NO_LIVE_CERTIFICATE,
            certificate_id=x.certificate_id,
            detail=x.suspension_detail,
            suspended_on=x.suspended_on or at.date(),
            suspended_at=at,
        )
    if c.restored:
        assert x.certificate_id is not None and x.star is not None
        return contract.ListingRestored(
            listing_id=x.id,
            outlet_id=x.outlet_id,
            product_id=x.product_id,
            certificate_id=x.certificate_id,
            star=x.star,
            restored_at=at,
        )
    return None


def product_delisted(x: domain.Listing, at: datetime) -> contract.ProductDelisted:
    return contract.ProductDelisted(
        listing_id=x.id,
        outlet_id=x.outlet_id,
        product_id=x.product_id,
        reason=x.delist_reason or "",
        delisted_on=x.delisted_on or at.date(),
        delisted_at=at,
    )
