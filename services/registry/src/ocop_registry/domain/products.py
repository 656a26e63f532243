"""Products (sản phẩm): classification by the rules in force, a stable public code, and the
guard that keeps a certified product in the registry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from ocop_registry.domain.certificates import Certificate
from ocop_registry.domain.classification import (
    PROGRAMME_FROM,
    ProductSet,
    scheme_on,
    statistics_sector,
)
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.producers import Producer, UnitVersion, check_name

# Hanoi's province code in the national list of administrative units.
PROVINCE_CODE = "01"
MAX_SEQUENCE = 9999


def public_code(commune_code: str, sequence: int, year: int) -> str:
    """``province-commune-sequence-year``, e.g. ``01-00004-0007-2025``: printed under the QR
    code on the label, so it never changes once given. The format is modelled, not from a
    source (docs/RULEBOOKS.md, "Formats")."""
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise RuleViolation(
            "public_code", f"commune {commune_code} has used all {MAX_SEQUENCE} codes of {year}"
        )
    return f"{PROVINCE_CODE}-{commune_code}-{sequence:04d}-{year}"


@dataclass(frozen=True, slots=True)
class Product:
    id: UUID
    producer_id: UUID
    name: str
    public_code: str
    classification: str  # scheme: "148" or "1048"
    product_set: str
    sector: str
    statistics_sector: str
    commune_code: str
    commune_valid_from: date
    district_code: str | None
    registered_on: date
    version: int
    registered_at: datetime
    updated_at: datetime
    deregistered_at: datetime | None = None
    deregistration_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.deregistered_at is None


@dataclass(frozen=True, slots=True)
class RegisterProduct:
    producer_id: UUID
    name: str
    product_set: str
    commune_code: str
    registered_on: date | None = None


@dataclass(frozen=True, slots=True)
class UpdateProduct:
    name: str | None = None
    product_set: str | None = None


@dataclass(frozen=True, slots=True)
class ProductRegistered:
    product: Product
    producer: Producer


@dataclass(frozen=True, slots=True)
class ProductUpdated:
    product: Product
    producer: Producer


@dataclass(frozen=True, slots=True)
class ProductDeregistered:
    product: Product


DomainEvent = ProductRegistered | ProductUpdated | ProductDeregistered


def check_registered_on(day: date | None, today: date) -> date:
    day = day or today
    if day > today:
        raise RuleViolation("registered_on", f"{day.isoformat()} is in the future")
    if day < PROGRAMME_FROM:
        raise RuleViolation(
            "registered_on",
            f"{day.isoformat()} is before 7 May 2018, when decision 490/QĐ-TTg approved the "
            "OCOP programme",
        )
    return day


def register_product(
    cmd: RegisterProduct,
    *,
    product_id: UUID,
    producer: Producer,
    product_set: ProductSet,
    unit: UnitVersion,
    sequence: int,
    registered_on: date,
    now: datetime,
) -> tuple[Product, list[DomainEvent]]:
    """``product_set`` and ``unit`` were resolved for ``registered_on`` by the caller."""
    if not producer.active:
        raise RuleViolation("producer_id", f"producer {producer.id} was deregistered")
    if product_set.scheme != scheme_on(registered_on):
        raise RuleViolation(
            "product_set", f"{product_set.code} is not a set of the classification in force"
        )
    product = Product(
        id=product_id,
        producer_id=producer.id,
        name=check_name(cmd.name),
        public_code=public_code(unit.code, sequence, registered_on.year),
        classification=product_set.scheme.value,
        product_set=product_set.code,
        sector=product_set.sector_code,
        statistics_sector=statistics_sector(product_set),
        commune_code=unit.code,
        commune_valid_from=unit.valid_from,
        district_code=unit.district_code,
        registered_on=registered_on,
        version=1,
        registered_at=now,
        updated_at=now,
    )
    return product, [ProductRegistered(product, producer)]


def same_registration(product: Product, cmd: RegisterProduct) -> bool:
    """Whether ``cmd`` repeats the registration ``product`` came from."""
    return (
        product.producer_id == cmd.producer_id
        and product.name == check_name(cmd.name)
        and product.product_set == cmd.product_set
        and product.commune_code == cmd.commune_code
        and (cmd.registered_on is None or cmd.registered_on == product.registered_on)
    )


def update_product(
    product: Product,
    cmd: UpdateProduct,
    *,
    producer: Producer,
    product_set: ProductSet | None,
    now: datetime,
) -> tuple[Product, list[DomainEvent]]:
    """Reclassification takes a set of the scheme in force today (``product_set``), so a
    1048-era product can move to the 148 classification before its next application."""
    if not product.active:
        raise RuleViolation("product", f"product {product.public_code} was deregistered")
    changes: dict[str, object] = {}
    if cmd.name is not None and check_name(cmd.name) != product.name:
        changes["name"] = check_name(cmd.name)
    if cmd.product_set is not None and cmd.product_set != product.product_set:
        if product_set is None or product_set.code != cmd.product_set:
            raise RuleViolation("product_set", "the new product set was not checked")
        changes.update(
            classification=product_set.scheme.value,
            product_set=product_set.code,
            sector=product_set.sector_code,
            statistics_sector=statistics_sector(product_set),
        )
    if not changes:
        return product, []
    updated = replace(product, **changes, version=product.version + 1, updated_at=now)  # type: ignore[arg-type]
    return updated, [ProductUpdated(updated, producer)]


def deregister_product(
    product: Product, reason: str, *, live: Certificate | None, now: datetime
) -> tuple[Product, list[DomainEvent]]:
    if not product.active:
        return product, []
    if live is not None:
        raise RuleViolation(
            "product",
            f"product {product.public_code} holds live certificate {live.number} "
            f"({live.star}★, valid until {live.valid_until.isoformat()}); it can be "
            "deregistered once the certificate has expired or been revoked",
        )
    done = replace(
        product,
        deregistered_at=now,
        deregistration_reason=check_name(reason, "reason", 500),
        version=product.version + 1,
        updated_at=now,
    )
    return done, [ProductDeregistered(done)]
