"""Points of sale and the goods they list.

An outlet is open from ``opened_on`` until it closes. A good is listed on one basis: an OCOP
product needs a live certificate on the day it is listed and is suspended, with the reason,
the moment its product holds none; it is restored when the product is certified again. Other
eligible goods (a provincial key product, a typical rural product, a local specialty) are
listed with their basis and no certificate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from ocop_runtime.refusals import RuleViolation
from ocop_trade.domain.certificates import CertificateCopy, live_certificate, why_not_live
from ocop_trade.domain.promotions import check_dates


class LocationType(StrEnum):
    TRANSPORT_HUB = "transport_hub"
    HIGHWAY_STOP = "highway_stop"
    MALL_MARKET = "mall_market"
    TOURIST_SITE_HOTEL = "tourist_site_hotel"
    CRAFT_VILLAGE = "craft_village"
    COMMERCIAL_CENTRE = "commercial_centre"
    FAIR_CENTRE = "fair_centre"
    POST_OFFICE = "post_office"


class ListingBasis(StrEnum):
    OCOP = "ocop"
    PROVINCIAL_KEY_PRODUCT = "provincial_key_product"
    TYPICAL_RURAL_PRODUCT = "typical_rural_product"
    LOCAL_SPECIALTY = "local_specialty"


class ListingStatus(StrEnum):
    LIVE = "live"
    SUSPENDED = "suspended"
    DELISTED = "delisted"


@dataclass(frozen=True)
class Outlet:
    id: UUID
    name: str
    operator: str
    location_type: LocationType
    unit_code: str
    opened_on: date
    district_code: str | None = None
    address: str | None = None
    closed_on: date | None = None
    close_reason: str | None = None

    def open_on(self, day: date) -> bool:
        return self.opened_on <= day and (self.closed_on is None or day < self.closed_on)


def close(o: Outlet, on: date, reason: str) -> Outlet:
    if o.closed_on is not None:
        raise RuleViolation("closed_on", f"the outlet closed on {o.closed_on} already")
    check_dates(o.opened_on, on, "opened_on", "closed_on")
    if not reason.strip():
        raise RuleViolation("reason", "say why the outlet closes")
    return replace(o, closed_on=on, close_reason=reason)


@dataclass(frozen=True)
class Listing:
    id: UUID
    outlet_id: UUID
    basis: ListingBasis
    goods_name: str
    listed_on: date
    status: ListingStatus = ListingStatus.LIVE
    product_id: UUID | None = None
    producer_id: UUID | None = None
    star: int | None = None
    certificate_id: UUID | None = None
    suspended_on: date | None = None
    suspension_reason: str | None = None
    suspension_detail: str | None = None
    delisted_on: date | None = None
    delist_reason: str | None = None


def list_good(
    outlet: Outlet,
    listing: Listing,
    certificates: Sequence[CertificateCopy],
) -> Listing:
    """``listing`` checked and completed: at an outlet open that day; an OCOP product with the
    live certificate it stands on."""
    if outlet.closed_on is not None and listing.listed_on >= outlet.closed_on:
        raise RuleViolation(
            "outlet_id", f"the outlet closed on {outlet.closed_on}: it lists nothing"
        )
    if listing.listed_on < outlet.opened_on:
        raise RuleViolation(
            "listed_on", f"{listing.listed_on} is before the outlet opened ({outlet.opened_on})"
        )
    if listing.basis is ListingBasis.OCOP:
        if listing.product_id is None:
            raise RuleViolation("product_id", "an OCOP listing names the certified product")
        live = live_certificate(certificates, listing.listed_on)
        if live is None:
            raise RuleViolation(
                "product_id",
                f"product {listing.product_id} holds no live OCOP certificate on"
                f" {listing.listed_on} ({why_not_live(certificates)}); list it on another basis"
                " if it qualifies",
            )
        return replace(
            listing, status=ListingStatus.LIVE, star=live.star, certificate_id=live.certificate_id
        )
    if not listing.goods_name.strip():
        raise RuleViolation("goods_name", "name the good listed")
    return replace(listing, status=ListingStatus.LIVE, star=None, certificate_id=None)


@dataclass(frozen=True)
class Change:
    """What following a product's certificates did to one listing."""

    listing: Listing
    suspended: bool = False
    restored: bool = False
    restamped: bool = False  # still live, now on another certificate or star


def follow_certificates(
    listing: Listing, certificates: Sequence[CertificateCopy], on: date, detail: str | None = None
) -> Change | None:
    """An OCOP listing after its product's certificates changed on ``on``: suspended when no
    certificate is live, restored when a suspended one's product is live again, re-stamped
    when the certificate under it changed. None when nothing changes (other bases, delisted
    listings, no change)."""
    if listing.basis is not ListingBasis.OCOP or listing.status is ListingStatus.DELISTED:
        return None
    live = live_certificate(certificates)
    if live is None:
        if listing.status is ListingStatus.SUSPENDED:
            return None
        suspended = replace(
            listing,
            status=ListingStatus.SUSPENDED,
            suspended_on=on,
            suspension_reason=why_not_live(certificates),
            suspension_detail=detail,
        )
        return Change(suspended, suspended=True)
    stamped = replace(listing, star=live.star, certificate_id=live.certificate_id)
    if listing.status is ListingStatus.SUSPENDED:
        restored = replace(
            stamped,
            status=ListingStatus.LIVE,
            suspended_on=None,
            suspension_reason=None,
            suspension_detail=None,
        )
        return Change(restored, restored=True)
    if stamped != listing:
        return Change(stamped, restamped=True)
    return None


def restore(listing: Listing, certificates: Sequence[CertificateCopy], on: date) -> Listing:
    """Put a suspended listing back on sale by hand: only with a live certificate."""
    if listing.status is not ListingStatus.SUSPENDED:
        raise RuleViolation(
            "status", f"only a suspended listing can be restored, not a {listing.status} one"
        )
    live = live_certificate(certificates, on)
    if live is None:
        raise RuleViolation(
            "product_id",
            f"product {listing.product_id} still holds no live OCOP certificate"
            f" ({why_not_live(certificates)})",
        )
    return replace(
        listing,
        status=ListingStatus.LIVE,
        star=live.star,
        certificate_id=live.certificate_id,
        suspended_on=None,
        suspension_reason=None,
        suspension_detail=None,
    )


def delist(listing: Listing, on: date, reason: str) -> Listing:
    if listing.status is ListingStatus.DELISTED:
        raise RuleViolation("status", f"the listing was delisted on {listing.delisted_on} already")
    if not reason.strip():
        raise RuleViolation("reason", "say why the good is delisted")
    if on < listing.listed_on:
        raise RuleViolation(
            "delisted_on", f"{on} is before the listing began ({listing.listed_on})"
        )
    return replace(listing, status=ListingStatus.DELISTED, delisted_on=on, delist_reason=reason)
