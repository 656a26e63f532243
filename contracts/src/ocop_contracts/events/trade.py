"""Events published by the trade service: promotion events (fairs, product weeks, livestreams,
online markets, forums, workshops, Tết spaces) with their participations and outcomes on
``ocop.trade.promotions.v1``, and the points of sale with their listings on
``ocop.trade.listings.v1``.

Promotion events are keyed by the promotion's id, so one event's life stays in order; outcomes
by the producer they belong to. Everything of one point of sale (opening, listings, suspensions,
closing) is keyed by the outlet's id. No event carries the name of a household producer: only
producer and product ids."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from ocop_contracts.base import Event
from ocop_contracts.topics import TRADE_LISTINGS, TRADE_PROMOTIONS


class PromotionKind(StrEnum):
    """The kinds of trade promotion Hanoi runs (xúc tiến thương mại)."""

    FAIR = "fair"  # hội chợ, triển lãm
    REGIONAL_CULTURE_WEEK = "regional_culture_week"  # tuần văn hóa vùng miền
    PRODUCT_WEEK = "product_week"  # tuần hàng OCOP
    LIVESTREAM_FESTIVAL = "livestream_festival"  # lễ hội livestream
    ONLINE_MARKET = "online_market"  # "chợ phiên trên mây"
    SUPPLY_DEMAND_FORUM = "supply_demand_forum"  # diễn đàn kết nối cung cầu
    TRADE_LINK_WORKSHOP = "trade_link_workshop"  # hội thảo kết nối giao thương
    TET_SPACE = "tet_space"  # không gian Tết


class LocationType(StrEnum):
    """Where a point of sale stands, by the Ministry of Industry and Trade's criteria."""

    TRANSPORT_HUB = "transport_hub"
    HIGHWAY_STOP = "highway_stop"
    MALL_MARKET = "mall_market"
    TOURIST_SITE_HOTEL = "tourist_site_hotel"
    CRAFT_VILLAGE = "craft_village"
    COMMERCIAL_CENTRE = "commercial_centre"
    FAIR_CENTRE = "fair_centre"
    POST_OFFICE = "post_office"


class ListingBasis(StrEnum):
    """Why a good may be sold at a point of sale: one of these suffices."""

    OCOP = "ocop"  # 3★ or more, with a live certificate
    PROVINCIAL_KEY_PRODUCT = "provincial_key_product"  # sản phẩm chủ lực
    TYPICAL_RURAL_PRODUCT = "typical_rural_product"  # sản phẩm công nghiệp nông thôn tiêu biểu
    LOCAL_SPECIALTY = "local_specialty"  # đặc sản địa phương


# ---------------------------------------------------------------- promotions


class PromotionScheduled(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="PromotionScheduled",
    key="event_id",
):
    """A promotion event was put on the calendar (status ``planned``)."""

    event_id: UUID
    kind: PromotionKind
    name: str
    organiser: str = Field(description="E.g. the Department of Industry and Trade.")
    venue: str = Field(description="The place, or the channel of an online event.")
    unit_code: str | None = Field(
        default=None, description="Commune/ward or pre-2025 district where it takes place."
    )
    district_code: str | None = Field(
        default=None, description="Pre-2025 district of that unit, when there was one."
    )
    starts_on: date
    ends_on: date = Field(description="Last day of the event.")
    capacity: int = Field(ge=1, description="Stalls (or slots of an online event).")
    admits_other_goods: bool = Field(
        description="False: only products holding a live OCOP certificate on the event's dates;"
        " true: other local specialties too."
    )
    scheduled_at: datetime


class RegistrationOpened(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="RegistrationOpened",
    key="event_id",
):
    """Producers may now apply to take part."""

    event_id: UUID
    opened_at: datetime


class PromotionStarted(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="PromotionStarted",
    key="event_id",
):
    """The event is running; registration is over."""

    event_id: UUID
    participants: int = Field(ge=0, description="Accepted participations.")
    stalls_taken: int = Field(ge=0)
    started_at: datetime


class PromotionClosed(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="PromotionClosed",
    key="event_id",
):
    """The event ended; outcomes can now be recorded."""

    event_id: UUID
    participants: int = Field(ge=0)
    stalls_taken: int = Field(ge=0)
    closed_at: datetime


class PromotionReported(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="PromotionReported",
    key="event_id",
):
    """The organiser's report is in: the totals of the outcomes recorded for the event."""

    event_id: UUID
    producers: int = Field(ge=0)
    products: int = Field(ge=0)
    sales_vnd: int = Field(ge=0)
    contracts_signed: int = Field(ge=0)
    contracts_value_vnd: int = Field(ge=0)
    reported_at: datetime


class PromotionCancelled(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="PromotionCancelled",
    key="event_id",
):
    """The event was called off before it ran."""

    event_id: UUID
    reason: str
    cancelled_at: datetime


class ParticipationAccepted(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="ParticipationAccepted",
    key="event_id",
):
    """A producer's application was accepted with the products it brings."""

    participation_id: UUID
    event_id: UUID
    producer_id: UUID
    product_ids: list[UUID]
    other_goods: list[str] = Field(
        default_factory=list, description="Goods without an OCOP certificate (when admitted)."
    )
    stalls: int = Field(ge=1)
    accepted_at: datetime


class ParticipationRefused(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="ParticipationRefused",
    key="event_id",
):
    """A producer's application was refused; ``reasons`` say why (one per problem)."""

    participation_id: UUID
    event_id: UUID
    producer_id: UUID
    product_ids: list[UUID]
    reasons: list[str] = Field(min_length=1)
    refused_at: datetime


class ParticipationWithdrawn(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="ParticipationWithdrawn",
    key="event_id",
):
    """An accepted participation was given up before the event ran, freeing its stalls."""

    participation_id: UUID
    event_id: UUID
    producer_id: UUID
    reason: str
    withdrawn_at: datetime


class OutcomeRecorded(
    Event,
    service="trade",
    topic=TRADE_PROMOTIONS,
    name="OutcomeRecorded",
    key="producer_id",
):
    """What a promotion event or a point of sale brought a producer (and product) over a
    period. Exactly one of ``event_id`` and ``outlet_id`` is set. Re-recording the same
    ``outcome_id`` replaces its figures."""

    outcome_id: UUID
    event_id: UUID | None = None
    outlet_id: UUID | None = None
    producer_id: UUID
    product_id: UUID | None = None
    period_start: date
    period_end: date
    sales_vnd: int = Field(ge=0)
    quantity: int = Field(ge=0)
    contracts_signed: int = Field(ge=0)
    contracts_value_vnd: int = Field(ge=0)
    buyers_met: int = Field(ge=0)
    recorded_at: datetime


# ---------------------------------------------------------------- points of sale and listings


class OutletOpened(
    Event,
    service="trade",
    topic=TRADE_LISTINGS,
    name="OutletOpened",
    key="outlet_id",
):
    """A point of sale of OCOP products (điểm giới thiệu và bán sản phẩm OCOP) opened."""

    outlet_id: UUID
    name: str
    operator: str
    location_type: LocationType
    unit_code: str = Field(description="Commune/ward (or pre-2025 district) of the outlet.")
    district_code: str | None = Field(
        default=None, description="Pre-2025 district of that unit, when there was one."
    )
    opened_on: date
    opened_at: datetime


class OutletClosed(
    Event,
    service="trade",
    topic=TRADE_LISTINGS,
    name="OutletClosed",
    key="outlet_id",
):
    """A point of sale closed; its live listings were delisted with it."""

    outlet_id: UUID
    closed_on: date
    reason: str
    closed_at: datetime


class ProductListed(
    Event,
    service="trade",
    topic=TRADE_LISTINGS,
    name="ProductListed",
    key="outlet_id",
):
    """A good was put on sale at a point of sale, on ``basis``. An OCOP listing names the
    product, its star and the live certificate it stands on."""

    listing_id: UUID
    outlet_id: UUID
    basis: ListingBasis
    goods_name: str
    product_id: UUID | None = None
    producer_id: UUID | None = None
    star: int | None = Field(default=None, ge=3, le=5)
    certificate_id: UUID | None = None
    listed_on: date
    listed_at: datetime


class ListingSuspended(
    Event,
    service="trade",
    topic=TRADE_LISTINGS,
    name="ListingSuspended",
    key="outlet_id",
):
    """An OCOP listing was taken off sale because the product's certificate stopped being
    live. ``reason``: ``certificate_expired``, ``certificate_revoked``, ``certificate_ended``
    (another end) or ``no_live_certificate``."""

    listing_id: UUID
    outlet_id: UUID
    product_id: UUID
    reason: str
    certificate_id: UUID | None = None
    detail: str | None = None
    suspended_on: date
    suspended_at: datetime


class ListingRestored(
    Event,
    service="trade",
    topic=TRADE_LISTINGS,
    name="ListingRestored",
    key="outlet_id",
):
    """A suspended listing is back on sale: the product holds a live certificate again."""

    listing_id: UUID
    outlet_id: UUID
    product_id: UUID
    certificate_id: UUID
    star: int = Field(ge=3, le=5)
    restored_at: datetime


class ProductDelisted(
    Event,
    service="trade",
    topic=TRADE_LISTINGS,
    name="ProductDelisted",
    key="outlet_id",
):
    """A listing ended for good (the outlet's choice, the product left the registry, or the
    outlet closed)."""

    listing_id: UUID
    outlet_id: UUID
    product_id: UUID | None = None
    reason: str
    delisted_on: date
    delisted_at: datetime
