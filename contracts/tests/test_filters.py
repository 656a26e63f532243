"""Filters over the published events: by type, by sector or product set, by administrative unit,
combined, decided on the ``ce_type`` header before decoding where they can, and through the
product an event names when it carries no sector or unit of its own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from ocop_contracts import Envelope
from ocop_contracts.base import Event
from ocop_contracts.envelope import H_TYPE, source
from ocop_contracts.events import (
    CampaignPlanned,
    FindingCategory,
    FindingOutcome,
    FindingRecorded,
    LegalForm,
    OutletOpened,
    ProducerRegistered,
    ProductCertified,
    ProductListed,
    ProductRegistered,
    ProductScored,
    ProductUpdated,
    PromotionScheduled,
    Severity,
    StatisticPublished,
)
from ocop_contracts.events.evaluation import Level
from ocop_contracts.events.trade import ListingBasis, LocationType, PromotionKind
from ocop_contracts.filters import (
    ProductIndex,
    Selection,
    in_product_sets,
    in_sectors,
    in_units,
    of_services,
    of_types,
)

NOW = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
PRODUCER = UUID("5b3e8d0a-2f61-4c1a-8d55-3e0c3f4a9b21")


def _product(
    *, sector: str = "food", product_set: str = "food.grain", commune: str = "00004", **kw: object
) -> ProductRegistered:
    fields: dict[str, object] = {
        "product_id": uuid4(),
        "producer_id": PRODUCER,
        "producer_legal_form": LegalForm.COOPERATIVE,
        "name": "Gạo nếp cái hoa vàng",
        "public_code": "01-00004-0007-2025",
        "lookup_url": "https://ocop.hanoi.gov.vn/p/01-00004-0007-2025",
        "classification": "148",
        "product_set": product_set,
        "sector": sector,
        "statistics_sector": sector,
        "commune_code": commune,
        "registered_on": date(2025, 8, 1),
        "registered_at": NOW,
    }
    fields.update(kw)
    return ProductRegistered.model_validate(fields)


def _certified(product_id: UUID) -> ProductCertified:
    return ProductCertified(
        certificate_id=uuid4(),
        certificate_number="OCOP-2025-0001",
        product_id=product_id,
        star=4,
        level=Level.CITY,
        decision_number="1147/QĐ-UBND",
        decision_date=date(2025, 9, 1),
        valid_from=date(2025, 9, 1),
        valid_until=date(2028, 8, 31),
        rulebook="1489",
        issued_at=NOW,
    )


def _finding(product_id: UUID) -> FindingRecorded:
    return FindingRecorded(
        finding_id=uuid4(),
        visit_id=uuid4(),
        producer_id=PRODUCER,
        product_id=product_id,
        category=FindingCategory.FOOD_SAFETY,
        severity=Severity.MAJOR,
        outcome=FindingOutcome.REMEDIATION,
        visited_on=date(2025, 9, 1),
        recorded_at=NOW,
    )


def _producer(commune: str, district: str | None = None) -> ProducerRegistered:
    return ProducerRegistered(
        producer_id=PRODUCER,
        legal_form=LegalForm.COOPERATIVE,
        name="HTX Nông nghiệp Phú Xuyên",
        commune_code=commune,
        district_code=district,
        registered_at=NOW,
    )


def _statistic() -> StatisticPublished:
    return StatisticPublished(
        statistic_key="products.by_star.city",
        statistic="products.by_star",
        scope="city",
        as_of=date(2025, 9, 1),
        measures=["products"],
        rows=[],
        computed_at=NOW,
    )


def _outlet(unit: str) -> OutletOpened:
    return OutletOpened(
        outlet_id=uuid4(),
        name="Điểm OCOP Hồ Gươm",
        operator="Sở Công Thương",
        location_type=LocationType.TOURIST_SITE_HOTEL,
        unit_code=unit,
        opened_on=date(2025, 9, 1),
        opened_at=NOW,
    )


def _listing(outlet_id: UUID, product_id: UUID) -> ProductListed:
    return ProductListed(
        listing_id=uuid4(),
        outlet_id=outlet_id,
        basis=ListingBasis.OCOP,
        goods_name="Gạo nếp",
        product_id=product_id,
        star=4,
        listed_on=date(2025, 9, 2),
        listed_at=NOW,
    )


def _record(event: Event) -> tuple[list[tuple[str, bytes]], bytes]:
    envelope = Envelope(
        id=str(uuid4()), type=event.CE_TYPE, source=source(event.SERVICE), time=NOW, subject=""
    )
    return envelope.to_headers(), event.to_json()


# By type ---------------------------------------------------------------------------------------


def test_a_type_filter_passes_only_the_named_types() -> None:
    product = _product()
    certified = _certified(product.product_id)
    only = of_types(ProductCertified)

    assert only.matches(certified)
    assert not only.matches(product)
    assert only.decides_type(ProductCertified.CE_TYPE) is True
    assert only.decides_type(ProductRegistered.CE_TYPE) is False


def test_a_type_filter_accepts_ce_type_strings_and_refuses_what_is_not_one() -> None:
    assert of_types("vn.hanoi.ocop.evaluation.ProductCertified.v1").matches(_certified(uuid4()))

    with pytest.raises(ValueError, match="ProductCertified"):
        of_types("ProductCertified")


def test_a_service_filter_passes_every_type_of_that_service() -> None:
    evaluation = of_services("evaluation")

    assert evaluation.matches(_certified(uuid4()))
    assert not evaluation.matches(_product())
    assert evaluation.decides_type("vn.hanoi.ocop.evaluation.SomethingNew.v1") is True
    assert evaluation.decides_type("vn.hanoi.ocop.evaluationx.ProductScored.v1") is False


# By sector and product set ---------------------------------------------------------------------


def test_a_sector_filter_decides_on_a_products_own_sector() -> None:
    food = in_sectors("food")

    assert food.matches(_product(sector="food"))
    assert not food.matches(_product(sector="handicrafts", product_set="handicrafts.wood"))


def test_a_sector_filter_decides_an_event_without_a_sector_through_the_indexed_product() -> None:
    index = ProductIndex()
    rice = _product(sector="food")
    vase = _product(sector="handicrafts", product_set="handicrafts.ceramics")
    index.observe(rice)
    index.observe(vase)
    food = in_sectors("food", index=index)

    assert food.matches(_certified(rice.product_id))
    assert not food.matches(_certified(vase.product_id))
    assert food.matches(_finding(rice.product_id))


def test_a_product_moved_to_another_sector_is_decided_by_its_latest_state() -> None:
    index = ProductIndex()
    product = _product(sector="food")
    index.observe(product)
    moved = ProductUpdated.model_validate(
        product.model_dump()
        | {
            "version": 2,
            "sector": "herbal",
            "statistics_sector": "herbal",
            "product_set": "herbal.medicine",
            "updated_at": NOW,
        }
    )
    index.observe(moved)

    assert not in_sectors("food", index=index).matches(_certified(product.product_id))
    assert in_sectors("herbal", index=index).matches(_certified(product.product_id))


@pytest.mark.parametrize("unknown", [False, True])
def test_an_event_of_a_product_the_index_does_not_know_is_decided_by_unknown(
    unknown: bool,
) -> None:
    food = in_sectors("food", index=ProductIndex(), unknown=unknown)

    assert food.matches(_certified(uuid4())) is unknown


def test_a_producer_event_matches_a_sector_when_the_index_knows_a_product_of_it_there() -> None:
    index = ProductIndex()
    index.observe(_product(sector="food"))

    assert in_sectors("food", index=index).matches(_producer("00004"))
    assert not in_sectors("drinks", index=index).matches(_producer("00004"))


def test_a_sector_filter_skips_types_that_name_no_product_before_decoding() -> None:
    food = in_sectors("food", index=ProductIndex(), unknown=True)

    assert food.decides_type(StatisticPublished.CE_TYPE) is False
    assert food.decides_type(PromotionScheduled.CE_TYPE) is False
    assert food.decides_type(ProductCertified.CE_TYPE) is None
    assert not food.matches(_statistic())


def test_a_product_set_filter_matches_the_set_code_not_the_sector() -> None:
    index = ProductIndex()
    grain = _product(product_set="food.grain")
    meat = _product(product_set="food.meat")
    index.observe(grain)
    index.observe(meat)
    sets = in_product_sets("food.grain", index=index)

    assert sets.matches(grain)
    assert not sets.matches(meat)
    assert sets.matches(_certified(grain.product_id))
    assert not sets.matches(_certified(meat.product_id))


# By administrative unit ------------------------------------------------------------------------


def test_a_unit_filter_matches_the_new_commune_or_the_old_district() -> None:
    product = _product(commune="10105", district_code="001")

    assert in_units("10105").matches(product)
    assert in_units("001").matches(product)
    assert not in_units("10106", "002").matches(product)


def test_a_unit_filter_decides_an_event_without_a_unit_through_the_product() -> None:
    index = ProductIndex()
    here, there = _product(commune="10105"), _product(commune="09999")
    index.observe(here)
    index.observe(there)
    units = in_units("10105", index=index)

    assert units.matches(_finding(here.product_id))
    assert not units.matches(_finding(there.product_id))


def test_a_unit_filter_reads_a_campaigns_unit_list_and_a_promotions_unit() -> None:
    campaign = CampaignPlanned(
        campaign_id=uuid4(),
        name="Kiểm tra 2025",
        year=2025,
        lead_agency="Sở NN&MT",
        units=["001", "002"],
        target_producers=10,
        target_products=20,
        starts_on=date(2025, 9, 1),
        ends_on=date(2025, 11, 30),
        planned_at=NOW,
    )
    promotion = PromotionScheduled(
        event_id=uuid4(),
        kind=PromotionKind.FAIR,
        name="Hội chợ OCOP",
        organiser="Sở Công Thương",
        venue="Cung Văn hóa",
        unit_code="10105",
        starts_on=date(2025, 10, 1),
        ends_on=date(2025, 10, 5),
        capacity=100,
        admits_other_goods=False,
        scheduled_at=NOW,
    )

    assert in_units("002").matches(campaign)
    assert not in_units("003").matches(campaign)
    assert in_units("10105").matches(promotion)
    assert in_units("10105").decides_type(StatisticPublished.CE_TYPE) is False


def test_a_listing_matches_the_unit_of_its_outlet_or_of_its_product() -> None:
    index = ProductIndex()
    product = _product(commune="09999")
    outlet = _outlet("10105")
    index.observe(product)
    index.observe(outlet)
    listing = _listing(outlet.outlet_id, product.product_id)

    assert in_units("10105", index=index).matches(listing)
    assert in_units("09999", index=index).matches(listing)
    assert not in_units("12345", index=index).matches(listing)


def test_a_producer_event_is_placed_by_the_producers_units_in_the_index() -> None:
    index = ProductIndex()
    index.observe(_producer("10105", "001"))
    visit_like = _finding(uuid4())  # names a product the index does not know, and the producer

    assert in_units("001", index=index).matches(_producer("10105", "001"))
    assert not in_units("001", index=index).matches(visit_like)  # product unknown: skipped


def test_an_index_stored_as_json_decides_like_the_one_it_was_taken_from() -> None:
    index = ProductIndex()
    rice = _product(sector="food", commune="10105", district_code="001")
    index.observe(rice)
    index.observe(_producer("10105", "001"))
    index.observe(_outlet("20202"))
    restored = ProductIndex.from_json(index.to_json())

    assert restored == index
    assert in_sectors("food", index=restored).matches(_certified(rice.product_id))
    assert in_units("001", index=restored).matches(_finding(rice.product_id))
    assert not in_sectors("food", index=ProductIndex()).matches(_certified(rice.product_id))


# Composition and the pre-filter ----------------------------------------------------------------


def test_filters_combine_with_and_or_not() -> None:
    index = ProductIndex()
    rice = _product(sector="food", commune="10105")
    index.observe(rice)
    certified = _certified(rice.product_id)
    food_here = in_sectors("food", index=index) & in_units("10105", index=index)

    assert food_here.matches(certified)
    assert not (food_here & ~of_types(ProductCertified)).matches(certified)
    assert (of_types(ProductScored) | food_here).matches(certified)
    assert not (in_sectors("drinks", index=index) | in_units("1", index=index)).matches(certified)


def test_combined_type_decisions_follow_and_or_not() -> None:
    food = in_sectors("food")
    cert, stat = ProductCertified.CE_TYPE, StatisticPublished.CE_TYPE

    assert (of_types(ProductCertified) & food).decides_type(cert) is None
    assert (of_types(ProductCertified) & food).decides_type(stat) is False
    assert (of_types(StatisticPublished) | food).decides_type(stat) is True
    assert (~of_types(StatisticPublished)).decides_type(stat) is False
    assert (~food).decides_type(cert) is None


def test_a_selection_skips_records_of_other_types_without_decoding_them() -> None:
    selection = Selection(of_types(ProductCertified))
    headers, _ = _record(_statistic())

    # A value that is not even JSON: decoding it would raise.
    assert selection.pick(headers, b"not json") is None
    assert selection.skipped_undecoded == 1
    assert selection.decoded == 0


def test_a_selection_follows_food_products_only_across_topics() -> None:
    index = ProductIndex()
    selection = Selection(in_sectors("food", index=index), index)
    rice = _product(sector="food")
    vase = _product(sector="handicrafts", product_set="handicrafts.ceramics")
    stream = [rice, vase, _statistic(), _certified(rice.product_id), _certified(vase.product_id)]

    picked = [selection.pick(*_record(e)) for e in stream]

    assert [type(e).__name__ if e else None for e in picked] == [
        "ProductRegistered",
        None,
        None,
        "ProductCertified",
        None,
    ]
    assert picked[3] is not None and picked[3].product_id == rice.product_id  # type: ignore[attr-defined]
    assert selection.skipped_undecoded == 1  # the statistic


def test_a_selection_feeds_the_index_even_from_records_its_filter_drops() -> None:
    index = ProductIndex()
    selection = Selection(of_types(ProductCertified) & in_sectors("food", index=index), index)
    rice = _product(sector="food")

    assert selection.pick(*_record(rice)) is None
    assert selection.pick(*_record(_certified(rice.product_id))) is not None


def test_a_selection_skips_an_unknown_type_that_its_filter_might_pass() -> None:
    selection = Selection(of_services("evaluation"))

    assert selection.pick({H_TYPE: b"vn.hanoi.ocop.evaluation.Future.v1"}, b"{}") is None
