"""Trade's rules without fixtures: eligibility by date, capacity, the status machine, listing
suspension and restoration, the outcome ledger."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from ocop_runtime.refusals import RuleViolation
from ocop_trade import domain as d

PRODUCER = uuid4()
D = date


def cert(
    product_id: UUID,
    start: date,
    end: date,
    *,
    star: int = 4,
    state: d.CertificateState = d.CertificateState.LIVE,
    ended_on: date | None = None,
) -> d.CertificateCopy:
    return d.CertificateCopy(uuid4(), product_id, star, start, end, state, ended_on)


def fair(
    *,
    start: date = D(2022, 10, 10),
    end: date = D(2022, 10, 16),
    capacity: int = 100,
    others: bool = False,
    status: d.PromotionStatus = d.PromotionStatus.REGISTRATION_OPEN,
) -> d.Promotion:
    return d.Promotion(
        id=uuid4(),
        kind=d.PromotionKind.PRODUCT_WEEK,
        name="Tuần hàng OCOP Hà Nội 2022",
        organiser="Sở Công Thương Hà Nội",
        venue="Trung tâm Triển lãm Giảng Võ",
        starts_on=start,
        ends_on=end,
        capacity=capacity,
        admits_other_goods=others,
        status=status,
    )


def apply(
    event: d.Promotion,
    products: list[UUID],
    *,
    stalls: int = 1,
    taken: int = 0,
    certs: dict[UUID, list[d.CertificateCopy]] | None = None,
    owners: dict[UUID, UUID] | None = None,
    other_goods: tuple[str, ...] = (),
) -> d.Decision:
    application = d.Application(uuid4(), event.id, PRODUCER, tuple(products), other_goods, stalls)
    return d.decide(
        event,
        application,
        stalls_taken=taken,
        producer_of=owners if owners is not None else dict.fromkeys(products, PRODUCER),
        certificates=certs or {},
    )


# ---------------------------------------------------------------- eligibility by date


def test_a_certificate_covers_its_days_and_none_from_the_day_it_ended() -> None:
    p = uuid4()
    c = cert(p, D(2020, 1, 1), D(2022, 12, 31))
    assert c.covers(D(2020, 1, 1)) and c.covers(D(2022, 12, 31))
    assert not c.covers(D(2019, 12, 31)) and not c.covers(D(2023, 1, 1))
    revoked = c.ended(d.CertificateState.REVOKED, D(2021, 6, 1))
    assert revoked.covers(D(2021, 5, 31)) and not revoked.covers(D(2021, 6, 1))
    # A later end does not push back an earlier one.
    assert revoked.ended(d.CertificateState.EXPIRED, D(2023, 1, 1)).ended_on == D(2021, 6, 1)


def test_a_period_is_covered_only_when_every_day_is_covered_by_some_certificate() -> None:
    p = uuid4()
    first = cert(p, D(2019, 10, 12), D(2022, 10, 11))
    second = cert(p, D(2022, 10, 12), D(2025, 10, 11))
    assert d.covered([first], D(2022, 10, 1), D(2022, 10, 11))
    assert not d.covered([first], D(2022, 10, 10), D(2022, 10, 16))
    assert d.covered([second, first], D(2022, 10, 10), D(2022, 10, 16))
    gap = cert(p, D(2022, 10, 14), D(2025, 10, 13))
    assert not d.covered([first, gap], D(2022, 10, 10), D(2022, 10, 16))
    assert not d.covered([], D(2022, 10, 10), D(2022, 10, 10))


def test_an_ocop_only_event_refuses_a_product_without_a_live_certificate_on_its_dates() -> None:
    event = fair()
    good, lapsing, revoked, none = uuid4(), uuid4(), uuid4(), uuid4()
    certs = {
        good: [cert(good, D(2021, 1, 1), D(2023, 12, 31))],
        lapsing: [cert(lapsing, D(2019, 10, 13), D(2022, 10, 12))],
        revoked: [
            cert(revoked, D(2021, 1, 1), D(2023, 12, 31)).ended(
                d.CertificateState.REVOKED, D(2022, 9, 1)
            )
        ],
    }
    assert apply(event, [good], certs=certs).accepted
    for product in (lapsing, revoked, none):
        decision = apply(event, [product], certs=certs)
        assert decision.status is d.ParticipationStatus.REFUSED
        [problem] = decision.problems
        assert problem.field == "product_ids" and "no live OCOP certificate" in problem.reason


def test_an_event_admitting_other_local_specialties_takes_uncertified_goods() -> None:
    uncertified = uuid4()
    open_event = fair(others=True)
    decision = apply(open_event, [uncertified], other_goods=("Mứt sen Tây Hồ",))
    assert decision.accepted
    closed_event = fair(others=False)
    refused = apply(closed_event, [], other_goods=("Mứt sen Tây Hồ",))
    assert [p.field for p in refused.problems] == ["other_goods"]
    # A product trade has never heard of, without a certificate, is refused even there.
    stranger = apply(open_event, [uncertified], owners={})
    assert "not in the registry" in stranger.problems[0].reason


def test_another_producers_product_is_refused() -> None:
    product = uuid4()
    certs = {product: [cert(product, D(2021, 1, 1), D(2024, 1, 1))]}
    decision = apply(fair(), [product], certs=certs, owners={product: uuid4()})
    assert "another producer's" in decision.problems[0].reason


# ---------------------------------------------------------------- capacity and status


def test_capacity_counts_the_stalls_already_given() -> None:
    product = uuid4()
    certs = {product: [cert(product, D(2021, 1, 1), D(2024, 1, 1))]}
    event = fair(capacity=100)
    assert apply(event, [product], stalls=2, taken=98, certs=certs).accepted
    refused = apply(event, [product], stalls=3, taken=98, certs=certs)
    assert [p.field for p in refused.problems] == ["stalls"]
    assert "2 of 100 are left" in refused.problems[0].reason


def test_a_refusal_gives_every_reason_at_once() -> None:
    product = uuid4()
    refused = apply(fair(capacity=1), [product], stalls=2, taken=0)
    assert [p.field for p in refused.problems] == ["product_ids", "stalls"]


def test_applications_are_decided_only_while_registration_is_open() -> None:
    for status in set(d.PromotionStatus) - {d.PromotionStatus.REGISTRATION_OPEN}:
        with pytest.raises(RuleViolation) as refused:
            apply(fair(status=status), [uuid4()])
        assert refused.value.field == "event_id"


def test_the_status_machine_allows_only_its_steps() -> None:
    event = d.schedule(fair(status=d.PromotionStatus.PLANNED))
    with pytest.raises(RuleViolation):
        d.step(event, d.Step.CLOSE)
    event = d.step(event, d.Step.OPEN_REGISTRATION)
    assert event.status is d.PromotionStatus.REGISTRATION_OPEN
    for then, status in (
        (d.Step.START, d.PromotionStatus.RUNNING),
        (d.Step.CLOSE, d.PromotionStatus.CLOSED),
        (d.Step.REPORT, d.PromotionStatus.REPORTED),
    ):
        event = d.step(event, then)
        assert event.status is status
    with pytest.raises(RuleViolation):
        d.step(event, d.Step.CANCEL, "mưa bão")
    cancelled = d.step(fair(status=d.PromotionStatus.PLANNED), d.Step.CANCEL, "mưa bão")
    assert cancelled.status is d.PromotionStatus.CANCELLED
    with pytest.raises(RuleViolation):
        d.step(fair(status=d.PromotionStatus.PLANNED), d.Step.CANCEL, " ")


def test_dates_out_of_order_and_a_shrinking_capacity_are_refused() -> None:
    with pytest.raises(RuleViolation) as backwards:
        d.schedule(fair(start=D(2022, 10, 16), end=D(2022, 10, 10)))
    assert backwards.value.field == "ends_on" and "out of order" in backwards.value.reason
    event = fair()
    with pytest.raises(RuleViolation) as shrunk:
        d.amend(event, fair(capacity=10), stalls_taken=11)
    assert shrunk.value.field == "capacity"
    assert d.amend(event, fair(capacity=11), stalls_taken=11).capacity == 11


def test_a_revocation_after_acceptance_shows_as_an_uncovered_product() -> None:
    kept, lost = uuid4(), uuid4()
    event = fair()
    certs = {
        kept: [cert(kept, D(2021, 1, 1), D(2024, 1, 1))],
        lost: [
            cert(lost, D(2021, 1, 1), D(2024, 1, 1)).ended(
                d.CertificateState.REVOKED, D(2022, 9, 1)
            )
        ],
    }
    assert d.uncovered_products(event, [kept, lost], certs) == [lost]
    assert d.uncovered_products(fair(others=True), [kept, lost], certs) == []


# ---------------------------------------------------------------- outlets and listings


def outlet(opened: date = D(2020, 5, 26)) -> d.Outlet:
    return d.Outlet(
        uuid4(),
        "Điểm giới thiệu OCOP Bát Tràng",
        "HTX Gốm Bát Tràng",
        d.LocationType.CRAFT_VILLAGE,
        "00550",
        opened,
    )


def ocop_listing(shop: d.Outlet, product: UUID, on: date = D(2021, 3, 1)) -> d.Listing:
    return d.Listing(uuid4(), shop.id, d.ListingBasis.OCOP, "Gốm men lam", on, product_id=product)


def test_an_ocop_listing_needs_a_live_certificate_and_stamps_it() -> None:
    shop, product = outlet(), uuid4()
    live = cert(product, D(2020, 12, 1), D(2023, 11, 30), star=5)
    listed = d.list_good(shop, ocop_listing(shop, product), [live])
    assert (listed.star, listed.certificate_id, listed.status) == (
        5,
        live.certificate_id,
        d.ListingStatus.LIVE,
    )
    with pytest.raises(RuleViolation) as refused:
        d.list_good(shop, ocop_listing(shop, product, D(2024, 1, 1)), [live])
    assert refused.value.field == "product_id"


def test_other_eligible_goods_are_listed_with_their_basis_and_no_certificate() -> None:
    shop = outlet()
    specialty = d.Listing(
        uuid4(), shop.id, d.ListingBasis.LOCAL_SPECIALTY, "Bánh cốm", D(2021, 3, 1)
    )
    listed = d.list_good(shop, specialty, [])
    assert listed.basis is d.ListingBasis.LOCAL_SPECIALTY and listed.certificate_id is None


def test_nothing_is_listed_at_a_closed_outlet_or_before_it_opened() -> None:
    shop = d.close(outlet(), D(2021, 12, 31), "hết hợp đồng mặt bằng")
    product = uuid4()
    live = [cert(product, D(2020, 12, 1), D(2023, 11, 30))]
    with pytest.raises(RuleViolation) as closed:
        d.list_good(shop, ocop_listing(shop, product, D(2022, 1, 5)), live)
    assert closed.value.field == "outlet_id" and "closed" in closed.value.reason
    with pytest.raises(RuleViolation):
        d.list_good(shop, ocop_listing(shop, product, D(2020, 1, 5)), live)
    with pytest.raises(RuleViolation):
        d.close(shop, D(2022, 1, 1), "again")
    with pytest.raises(RuleViolation) as backwards:
        d.close(outlet(), D(2019, 1, 1), "x")
    assert "out of order" in backwards.value.reason


def test_a_listing_is_suspended_when_the_certificate_ends_and_restored_when_certified_again() -> (
    None
):
    shop, product = outlet(), uuid4()
    first = cert(product, D(2020, 12, 1), D(2023, 11, 30), star=4)
    listing = d.list_good(shop, ocop_listing(shop, product), [first])
    revoked = first.ended(d.CertificateState.REVOKED, D(2022, 5, 1))
    change = d.follow_certificates(listing, [revoked], D(2022, 5, 1), "food safety")
    assert change is not None and change.suspended
    suspended = change.listing
    assert suspended.status is d.ListingStatus.SUSPENDED
    assert (suspended.suspension_reason, suspended.suspended_on) == (
        "certificate_revoked",
        D(2022, 5, 1),
    )
    assert d.follow_certificates(suspended, [revoked], D(2022, 5, 2)) is None  # already
    with pytest.raises(RuleViolation):
        d.restore(suspended, [revoked], D(2022, 6, 1))
    again = cert(product, D(2023, 2, 1), D(2026, 1, 31), star=3)
    back = d.follow_certificates(suspended, [revoked, again], D(2023, 2, 1))
    assert back is not None and back.restored
    assert (back.listing.status, back.listing.star, back.listing.certificate_id) == (
        d.ListingStatus.LIVE,
        3,
        again.certificate_id,
    )
    assert d.restore(suspended, [revoked, again], D(2023, 2, 2)).status is d.ListingStatus.LIVE


def test_expiry_is_told_apart_from_revocation_and_an_upgrade_restamps_a_live_listing() -> None:
    shop, product = outlet(), uuid4()
    first = cert(product, D(2020, 12, 1), D(2023, 11, 30), star=4)
    listing = d.list_good(shop, ocop_listing(shop, product), [first])
    expired = first.ended(d.CertificateState.EXPIRED, D(2023, 12, 1))
    change = d.follow_certificates(listing, [expired], D(2023, 12, 1))
    assert change is not None and change.listing.suspension_reason == "certificate_expired"
    upgraded = cert(product, D(2021, 6, 1), D(2024, 5, 31), star=5)
    replaced = first.ended(d.CertificateState.REPLACED, D(2021, 6, 1))
    stamp = d.follow_certificates(listing, [replaced, upgraded], D(2021, 6, 1))
    assert stamp is not None and stamp.restamped and stamp.listing.star == 5
    other = d.Listing(uuid4(), shop.id, d.ListingBasis.LOCAL_SPECIALTY, "Bánh cốm", D(2021, 3, 1))
    assert d.follow_certificates(other, [expired], D(2023, 12, 1)) is None


def test_a_delisted_listing_stays_delisted() -> None:
    shop, product = outlet(), uuid4()
    first = cert(product, D(2020, 12, 1), D(2023, 11, 30))
    listing = d.delist(
        d.list_good(shop, ocop_listing(shop, product), [first]), D(2021, 4, 1), "hết hàng"
    )
    assert d.follow_certificates(listing, [], D(2021, 5, 1)) is None
    with pytest.raises(RuleViolation):
        d.delist(listing, D(2021, 5, 1), "again")


# ---------------------------------------------------------------- outcomes


def outcome(**fields: object) -> d.Outcome:
    values: dict[str, object] = {
        "id": uuid4(),
        "producer_id": PRODUCER,
        "period_start": D(2022, 10, 10),
        "period_end": D(2022, 10, 16),
        "sales_vnd": 12_000_000,
        "contracts_signed": 2,
        "contracts_value_vnd": 50_000_000,
    }
    values.update(fields)
    return d.Outcome(**values)  # type: ignore[arg-type]


def test_an_event_outcome_belongs_to_a_producer_that_took_part_after_it_ran() -> None:
    product = uuid4()
    event = fair(status=d.PromotionStatus.CLOSED)
    taking = d.Taking(PRODUCER, (product,))
    o = outcome(event_id=event.id, product_id=product)
    assert d.for_event(o, event, taking) == o
    with pytest.raises(RuleViolation) as stranger:
        d.for_event(o, event, None)
    assert stranger.value.field == "producer_id" and "did not take part" in stranger.value.reason
    with pytest.raises(RuleViolation) as early:
        d.for_event(o, fair(), taking)
    assert early.value.field == "event_id"
    with pytest.raises(RuleViolation) as other_product:
        d.for_event(outcome(event_id=event.id, product_id=uuid4()), event, taking)
    assert other_product.value.field == "product_id"
    with pytest.raises(RuleViolation) as backwards:
        d.for_event(outcome(event_id=event.id, period_end=D(2022, 10, 1)), event, taking)
    assert "out of order" in backwards.value.reason


def test_an_outlet_outcome_needs_the_producers_goods_listed_there() -> None:
    shop, product = outlet(), uuid4()
    live = cert(product, D(2020, 12, 1), D(2023, 11, 30))
    listing = d.list_good(
        shop,
        d.Listing(
            uuid4(),
            shop.id,
            d.ListingBasis.OCOP,
            "Gốm",
            D(2021, 3, 1),
            product_id=product,
            producer_id=PRODUCER,
        ),
        [live],
    )
    o = outcome(outlet_id=shop.id, period_start=D(2021, 3, 1), period_end=D(2021, 3, 31))
    assert d.for_outlet(o, shop, [listing]) == o
    with pytest.raises(RuleViolation) as nobody:
        d.for_outlet(o, shop, [])
    assert nobody.value.field == "producer_id"
    with pytest.raises(RuleViolation):
        d.for_outlet(outcome(outlet_id=shop.id, event_id=uuid4()), shop, [listing])
    with pytest.raises(RuleViolation) as before:
        d.for_outlet(
            outcome(outlet_id=shop.id, period_start=D(2019, 1, 1), period_end=D(2019, 2, 1)),
            shop,
            [listing],
        )
    assert before.value.field == "period_start"
