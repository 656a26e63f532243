"""Registry events become public contracts without the personal data of household producers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from ocop_contracts import Event, decode_event
from ocop_contracts.events import registry as contract
from ocop_registry import domain
from ocop_registry.domain import applications, products
from ocop_registry.domain.classification import Regime, product_set_on
from ocop_registry.domain.dossier import ApplicationKind, EvidenceFile, required_documents
from ocop_registry.publishing import DomainEvent, public_name, to_contract

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
BASE_URL = "https://ocop.hanoi.gov.vn/"
PERSON = "Nguyễn Thị Hoa"
HOUSEHOLD_NUMBER = "01A8012345"
TAX_CODE = "0101234567"
HOP_DONG = domain.UnitVersion(
    "10072", "Hợp Đồng", date(2019, 1, 1), date(2025, 6, 30), district_code="277"
)
CONTACT_NAME = "Trần Văn Nam"
PHONE = "0912345678"
EMAIL = "tranvannam@example.vn"
NATIONAL_ID = "001085012345"
CONTACT_HOME = "Số 7, ngõ 12, thôn Đông Sơn"
CONTACT = domain.Person(
    full_name=CONTACT_NAME,
    role="con trai chủ hộ",
    phone=PHONE,
    email=EMAIL,
    national_id=NATIONAL_ID,
    home_address=CONTACT_HOME,
)
HOME = "Thôn Đông Sơn, xã Hợp Đồng"
# Everything that identifies a household or a contact person.
PERSONAL = (
    PERSON,
    HOUSEHOLD_NUMBER,
    HOME,
    CONTACT_NAME,
    PHONE,
    EMAIL,
    NATIONAL_ID,
    CONTACT_HOME,
)


def _number(legal_form: domain.LegalForm) -> str:
    return HOUSEHOLD_NUMBER if legal_form is domain.LegalForm.HOUSEHOLD_BUSINESS else TAX_CODE


def _registered(legal_form: domain.LegalForm, name: str = PERSON) -> domain.ProducerRegistered:
    _, events = domain.register_producer(
        domain.RegisterProducer(
            name=name,
            legal_form=legal_form,
            commune_code="10072",
            registration_number=_number(legal_form),
            address=HOME,
            contacts=(CONTACT,),
        ),
        producer_id=uuid4(),
        unit=HOP_DONG,
        now=NOW,
    )
    (event,) = events
    assert isinstance(event, domain.ProducerRegistered)
    return event


def _updated(legal_form: domain.LegalForm, name: str = PERSON) -> domain.ProducerUpdated:
    producer = _registered(legal_form, name="Tên cũ").producer
    _, events = domain.update_producer(
        producer, domain.UpdateProducer(name=name), unit=None, now=LATER
    )
    (event,) = events
    assert isinstance(event, domain.ProducerUpdated)
    return event


def _product(producer: domain.Producer) -> products.ProductRegistered:
    registered_on = NOW.date()
    _, events = products.register_product(
        products.RegisterProduct(
            producer_id=producer.id,
            name="Miến dong Hợp Đồng",
            product_set="food.processed_produce",
            commune_code="10072",
        ),
        product_id=uuid4(),
        producer=producer,
        product_set=product_set_on("food.processed_produce", registered_on),
        unit=HOP_DONG,
        sequence=7,
        registered_on=registered_on,
        now=NOW,
    )
    (event,) = events
    assert isinstance(event, products.ProductRegistered)
    return event


def _submitted(
    producer: domain.Producer, product: products.Product
) -> applications.ApplicationSubmitted:
    product_set = product_set_on(product.product_set, NOW.date())
    documents = tuple(
        EvidenceFile(
            document_type=t,
            name=f"{t.value}.pdf",
            media_type="application/pdf",
            size_bytes=1024,
            sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            storage_url=f"s3://ocop-dossiers/2025/{t.value}.pdf",
        )
        for t in required_documents(ApplicationKind.FIRST_TIME, product_set, Regime.R148)
    )
    draft = applications.draft_application(
        applications.DraftApplication(
            product_id=product.id,
            kind=ApplicationKind.FIRST_TIME,
            self_assessment_score=72.5,
            documents=documents,
        ),
        application_id=uuid4(),
        product=product,
        now=NOW,
    )
    _, events = applications.submit_application(
        draft, product=product, producer=producer, product_set=product_set, live=None, now=LATER
    )
    (event,) = events
    assert isinstance(event, applications.ApplicationSubmitted)
    return event


def _every_event(legal_form: domain.LegalForm, name: str = PERSON) -> Iterator[DomainEvent]:
    """One event of each kind the registry publishes, all about one producer."""
    registered = _registered(legal_form, name)
    producer = registered.producer
    yield registered
    moved, producer_events = domain.update_producer(
        producer,
        domain.UpdateProducer(address=HOME + " (mới)", contacts=(CONTACT, CONTACT)),
        unit=None,
        now=LATER,
    )
    yield from producer_events
    product_registered = _product(producer)
    product = product_registered.product
    yield product_registered
    _, product_events = products.update_product(
        product,
        products.UpdateProduct(name="Miến dong đặc biệt"),
        producer=moved,
        product_set=None,
        now=LATER,
    )
    yield from product_events
    submitted = _submitted(producer, product)
    yield submitted
    _, application_events = applications.withdraw_application(
        submitted.application, "Chủ hộ xin rút hồ sơ", now=LATER
    )
    yield from application_events
    _, product_events = products.deregister_product(product, "Ngừng sản xuất", live=None, now=LATER)
    yield from product_events
    _, producer_events = domain.deregister_producer(moved, "Giải thể", active_products=0, now=LATER)
    yield from producer_events


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_household_name_is_not_published_on_registration() -> None:
    published = to_contract(_registered(domain.LegalForm.HOUSEHOLD_BUSINESS), base_url=BASE_URL)

    assert isinstance(published, contract.ProducerRegistered)
    assert published.name is None


def test_household_name_is_not_published_on_update() -> None:
    published = to_contract(_updated(domain.LegalForm.HOUSEHOLD_BUSINESS), base_url=BASE_URL)

    assert isinstance(published, contract.ProducerUpdated)
    assert published.name is None


def test_household_registration_number_is_not_published() -> None:
    registered = to_contract(_registered(domain.LegalForm.HOUSEHOLD_BUSINESS), base_url=BASE_URL)
    updated = to_contract(_updated(domain.LegalForm.HOUSEHOLD_BUSINESS), base_url=BASE_URL)

    assert isinstance(registered, contract.ProducerRegistered)
    assert isinstance(updated, contract.ProducerUpdated)
    assert registered.registration_number is None
    assert updated.registration_number is None


@pytest.mark.parametrize(
    "legal_form",
    [
        domain.LegalForm.ENTERPRISE,
        domain.LegalForm.COOPERATIVE,
        domain.LegalForm.COOPERATIVE_GROUP,
    ],
)
def test_trading_name_of_an_organisation_is_published(legal_form: domain.LegalForm) -> None:
    registered = to_contract(
        _registered(legal_form, name="HTX Gốm sứ Bát Tràng"), base_url=BASE_URL
    )
    updated = to_contract(_updated(legal_form, name="HTX Gốm Bát Tràng"), base_url=BASE_URL)

    assert isinstance(registered, contract.ProducerRegistered)
    assert isinstance(updated, contract.ProducerUpdated)
    assert registered.name == "HTX Gốm sứ Bát Tràng"
    assert updated.name == "HTX Gốm Bát Tràng"
    assert registered.registration_number == TAX_CODE
    assert updated.registration_number == TAX_CODE


def test_public_name_is_none_only_for_a_household_business() -> None:
    for legal_form in domain.LegalForm:
        producer = _registered(legal_form).producer
        expected = None if legal_form is domain.LegalForm.HOUSEHOLD_BUSINESS else PERSON
        assert public_name(producer) == expected


def test_producer_registered_carries_the_producers_public_details() -> None:
    event = _registered(domain.LegalForm.COOPERATIVE_GROUP, name="Tổ hợp tác Mây tre Phú Vinh")
    p = event.producer

    published = to_contract(event, base_url=BASE_URL)

    assert published == contract.ProducerRegistered(
        producer_id=p.id,
        legal_form=contract.LegalForm.COOPERATIVE_GROUP,
        name="Tổ hợp tác Mây tre Phú Vinh",
        commune_code="10072",
        district_code="277",
        registration_number=TAX_CODE,
        registered_at=NOW,
    )
    assert published.key() == str(p.id)


def test_producer_updated_carries_the_version() -> None:
    producer = replace(_registered(domain.LegalForm.ENTERPRISE).producer, version=6)
    _, (event,) = domain.update_producer(
        producer, domain.UpdateProducer(name="Công ty Chè Ba Vì"), unit=None, now=LATER
    )

    published = to_contract(event, base_url=BASE_URL)

    assert isinstance(published, contract.ProducerUpdated)
    assert published.version == 7
    assert published.updated_at == LATER
    assert published.producer_id == event.producer.id
    assert published.legal_form is contract.LegalForm.ENTERPRISE


def test_every_domain_legal_form_maps_to_the_contracts_legal_form() -> None:
    for legal_form in domain.LegalForm:
        published = to_contract(_registered(legal_form), base_url=BASE_URL)
        assert isinstance(published, contract.ProducerRegistered)
        assert published.legal_form.value == legal_form.value


@pytest.mark.parametrize("make_event", [_registered, _updated])
def test_household_persons_name_appears_nowhere_in_the_published_json(
    make_event: Callable[[domain.LegalForm], domain.DomainEvent],
) -> None:
    event = make_event(domain.LegalForm.HOUSEHOLD_BUSINESS)

    published = to_contract(event, base_url=BASE_URL)
    value = published.to_json()

    assert PERSON not in value.decode()
    assert PERSON not in json.dumps(json.loads(value), ensure_ascii=True)
    assert "Nguy" not in value.decode()
    assert PERSON not in published.model_dump_json()
    assert decode_event(published.CE_TYPE, value) == published


def test_every_kind_of_registry_event_is_published() -> None:
    published = [
        type(to_contract(e, base_url=BASE_URL))
        for e in _every_event(domain.LegalForm.HOUSEHOLD_BUSINESS)
    ]

    assert published == [
        contract.ProducerRegistered,
        contract.ProducerUpdated,
        contract.ProductRegistered,
        contract.ProductUpdated,
        contract.ApplicationSubmitted,
        contract.ApplicationWithdrawn,
        contract.ProductDeregistered,
        contract.ProducerDeregistered,
    ]


def test_no_household_name_number_address_or_contact_leaves_in_any_contract() -> None:
    for event in _every_event(domain.LegalForm.HOUSEHOLD_BUSINESS):
        published: Event = to_contract(event, base_url=BASE_URL)
        text = published.to_json().decode()
        values = list(_strings(json.loads(text)))

        for secret in PERSONAL:
            assert secret not in text, (type(published).__name__, secret)
            assert not any(secret in v for v in values), (type(published).__name__, secret)


@pytest.mark.parametrize(
    "legal_form",
    [
        domain.LegalForm.ENTERPRISE,
        domain.LegalForm.COOPERATIVE,
        domain.LegalForm.COOPERATIVE_GROUP,
    ],
)
def test_an_organisations_contact_persons_and_address_leave_in_no_contract(
    legal_form: domain.LegalForm,
) -> None:
    contact_data = [v for v in PERSONAL if v not in (PERSON, HOUSEHOLD_NUMBER)]
    names_seen = []
    for event in _every_event(legal_form, name="HTX Miến dong Hợp Đồng"):
        published = to_contract(event, base_url=BASE_URL)
        text = published.to_json().decode()
        names_seen.append("HTX Miến dong Hợp Đồng" in text)

        for secret in contact_data:
            assert secret not in text, (type(published).__name__, secret)
    # Contrast: the organisation itself is public, so the check above can see names at all.
    assert any(names_seen)


def test_household_product_and_application_events_name_no_producer() -> None:
    published = [
        to_contract(e, base_url=BASE_URL) for e in _every_event(domain.LegalForm.HOUSEHOLD_BUSINESS)
    ]
    with_producer_name = [
        p
        for p in published
        if isinstance(
            p, contract.ProductRegistered | contract.ProductUpdated | contract.ApplicationSubmitted
        )
    ]

    assert len(with_producer_name) == 3
    assert all(p.producer_name is None for p in with_producer_name)


def test_an_organisations_product_events_carry_its_trading_name() -> None:
    producer = _registered(domain.LegalForm.COOPERATIVE, name="HTX Miến dong").producer

    published = to_contract(_product(producer), base_url=BASE_URL)

    assert isinstance(published, contract.ProductRegistered)
    assert published.producer_name == "HTX Miến dong"


@pytest.mark.parametrize("base_url", ["https://ocop.hanoi.gov.vn", "https://ocop.hanoi.gov.vn/"])
def test_product_events_carry_the_lookup_url_of_their_public_code(base_url: str) -> None:
    producer = _registered(domain.LegalForm.ENTERPRISE).producer
    registered = _product(producer)
    product = registered.product
    _, updates = products.update_product(
        product,
        products.UpdateProduct(name="Miến dong loại 1"),
        producer=producer,
        product_set=None,
        now=LATER,
    )

    published = [to_contract(e, base_url=base_url) for e in [registered, *updates]]

    assert product.public_code == "01-10072-0007-2025"
    for p in published:
        assert isinstance(p, contract.ProductRegistered | contract.ProductUpdated)
        assert p.public_code == product.public_code
        assert p.lookup_url == "https://ocop.hanoi.gov.vn/public/products/01-10072-0007-2025"


def test_the_lookup_url_follows_the_configured_base_url() -> None:
    event = _product(_registered(domain.LegalForm.ENTERPRISE).producer)

    first = to_contract(event, base_url="https://a.example/ocop")
    second = to_contract(event, base_url="http://localhost:8000")

    assert isinstance(first, contract.ProductRegistered)
    assert isinstance(second, contract.ProductRegistered)
    assert first.lookup_url == f"https://a.example/ocop/public/products/{first.public_code}"
    assert second.lookup_url == f"http://localhost:8000/public/products/{first.public_code}"


def test_application_submitted_carries_the_regime_and_classification_of_the_product() -> None:
    producer = _registered(domain.LegalForm.COOPERATIVE, name="HTX Miến dong").producer
    product = _product(producer).product
    event = _submitted(producer, product)

    published = to_contract(event, base_url=BASE_URL)

    assert isinstance(published, contract.ApplicationSubmitted)
    assert published.regime == "148"
    assert (published.classification, published.product_set, published.statistics_sector) == (
        "148",
        "food.processed_produce",
        "food",
    )
    assert published.district_code == "277"
    assert len(published.documents) == len(event.application.documents)
    assert published.key() == str(event.application.id)


def test_application_withdrawn_carries_the_reason_and_time_of_withdrawal() -> None:
    producer = _registered(domain.LegalForm.ENTERPRISE).producer
    submitted = _submitted(producer, _product(producer).product)
    withdrawn_at = LATER + timedelta(hours=3)
    _, (event,) = applications.withdraw_application(
        submitted.application, "Sản phẩm đổi bao bì", now=withdrawn_at
    )

    published = to_contract(event, base_url=BASE_URL)

    assert published == contract.ApplicationWithdrawn(
        application_id=submitted.application.id,
        product_id=submitted.product.id,
        reason="Sản phẩm đổi bao bì",
        withdrawn_at=withdrawn_at,
    )


@pytest.mark.parametrize(
    ("legal_form", "masked"),
    [(domain.LegalForm.HOUSEHOLD_BUSINESS, True), (domain.LegalForm.COOPERATIVE, False)],
)
def test_a_households_evidence_files_travel_by_hash_not_by_their_storage_url(
    legal_form: domain.LegalForm, masked: bool
) -> None:
    producer = _registered(legal_form).producer
    submitted = to_contract(_submitted(producer, _product(producer).product), base_url=BASE_URL)

    assert isinstance(submitted, contract.ApplicationSubmitted) and submitted.documents
    for document in submitted.documents:
        if masked:
            assert document.storage_url == f"urn:sha256:{document.sha256}"
            assert ".pdf" not in document.storage_url and document.name.isidentifier()
        else:
            assert document.storage_url.startswith("s3://ocop-dossiers/")
