"""Contract events for the insights tests: valid registry and evaluation events with the fields
a statistic depends on, the rest filled in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

from ocop_contracts.events import evaluation as ev
from ocop_contracts.events import registry as reg

SECTORS_148 = {
    "1048.food": "food",
    "1048.drinks": "drinks",
    "1048.herbal": "herbal",
    "1048.fabric": "handicrafts",
    "1048.souvenir": "handicrafts",
}
SETS_1048 = {
    "1048.food": "1048.food.tea",
    "1048.drinks": "1048.drinks.rice_spirit",
    "1048.herbal": "1048.herbal.health_medicine",
    "1048.fabric": "1048.fabric.garments",
    "1048.souvenir": "1048.souvenir.decorative_crafts",
}


def at(day: date, hour: int = 9) -> datetime:
    """A moment on ``day`` in Hanoi (02:00 UTC is 09:00 there)."""
    return datetime.combine(day, time(hour - 7), tzinfo=UTC)


def producer(
    producer_id: UUID | None = None,
    *,
    legal_form: reg.LegalForm = reg.LegalForm.COOPERATIVE,
    on: date = date(2019, 6, 1),
) -> reg.ProducerRegistered:
    return reg.ProducerRegistered(
        producer_id=producer_id or uuid4(),
        legal_form=legal_form,
        name="HTX thử nghiệm" if legal_form != reg.LegalForm.HOUSEHOLD_BUSINESS else None,
        commune_code="00004",
        district_code="001",
        registered_at=at(on),
    )


def product(
    product_id: UUID | None = None,
    *,
    producer_id: UUID | None = None,
    legal_form: reg.LegalForm = reg.LegalForm.COOPERATIVE,
    sector: str = "1048.food",
    commune: str = "00004",
    district: str | None = "001",
    on: date = date(2019, 6, 1),
    version: int | None = None,
) -> reg.ProductRegistered | reg.ProductUpdated:
    fields = dict(
        product_id=product_id or uuid4(),
        producer_id=producer_id or uuid4(),
        producer_legal_form=legal_form,
        name="Chè thử nghiệm",
        public_code="01-00004-0001-2019",
        lookup_url="https://ocop.example/p/01-00004-0001-2019",
        classification="1048" if sector.startswith("1048.") else "148",
        product_set=SETS_1048.get(sector, f"{sector}.x"),
        sector=sector,
        statistics_sector=SECTORS_148.get(sector, sector),
        commune_code=commune,
        district_code=district,
        registered_on=on,
    )
    if version is None:
        return reg.ProductRegistered(**fields, registered_at=at(on))
    return reg.ProductUpdated(**fields, version=version, updated_at=at(on))


def certified(
    product_id: UUID,
    star: int,
    on: date,
    *,
    certificate_id: UUID | None = None,
    application_id: UUID | None = None,
    level: ev.Level = ev.Level.CITY,
    replaces: UUID | None = None,
    upgraded: bool = False,
) -> ev.ProductCertified | ev.CertificateReevaluated | ev.CertificateUpgraded:
    fields = dict(
        certificate_id=certificate_id or uuid4(),
        certificate_number=f"{star}-{on.isoformat()}",
        product_id=product_id,
        application_id=application_id,
        star=star,
        level=level,
        decision_number="1/QĐ-UBND",
        decision_date=on,
        valid_from=on,
        valid_until=on.replace(year=on.year + 3) - timedelta(days=1),
        rulebook="1048",
        issued_at=at(on),
    )
    if replaces is None:
        return ev.ProductCertified(**fields)
    if upgraded:
        return ev.CertificateUpgraded(**fields, replaces_certificate_id=replaces)
    return ev.CertificateReevaluated(**fields, replaces_certificate_id=replaces)


def nominated(product_id: UUID, application_id: UUID, on: date) -> ev.ProductNominated:
    return ev.ProductNominated(
        application_id=application_id,
        product_id=product_id,
        round_id=uuid4(),
        score=91.0,
        carried_star=4,
        to_level=ev.Level.CENTRAL,
        nominated_at=at(on),
    )


def revoked(product_id: UUID, certificate_id: UUID, on: date) -> ev.CertificateRevoked:
    return ev.CertificateRevoked(
        certificate_id=certificate_id,
        product_id=product_id,
        grounds=[ev.RevocationGround.FOOD_SAFETY_BREACH],
        decision_number="2/QĐ-UBND",
        decision_date=on,
        revoked_on=on,
    )


def submitted(
    product_id: UUID, year: int, on: date, application_id: UUID | None = None
) -> reg.ApplicationSubmitted:
    return reg.ApplicationSubmitted(
        application_id=application_id or uuid4(),
        product_id=product_id,
        producer_id=uuid4(),
        producer_legal_form=reg.LegalForm.COOPERATIVE,
        product_name="Chè thử nghiệm",
        public_code="01-00004-0001-2019",
        kind=reg.ApplicationKind.FIRST_TIME,
        regime="1048",
        classification="1048",
        product_set="1048.food.tea",
        sector="1048.food",
        statistics_sector="food",
        commune_code="00004",
        district_code="001",
        round_year=year,
        self_assessment_score=80,
        documents=[],
        submitted_at=at(on),
    )


def scored(
    product_id: UUID, application_id: UUID, on: date, *, level: ev.Level = ev.Level.CITY
) -> ev.ProductScored:
    return ev.ProductScored(
        application_id=application_id,
        product_id=product_id,
        round_id=uuid4(),
        level=level,
        score=75.0,
        parts={"A": 25.0, "B": 30.0, "C": 20.0},
        band=4,
        star=4,
        outcome="certify",
        outcome_star=4,
        rulebook="1048",
        rulebook_version=1,
        scored_at=at(on),
    )
