"""Domain certificate events -> public contracts (numbers and times come from the records)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ocop_contracts import Event
from ocop_contracts.events import evaluation as contract
from ocop_evaluation import domain


def certificate_contract(
    event: domain.CertificateEvent,
    *,
    numbers: dict[UUID, str],
    application_id: UUID | None,
    at: datetime,
) -> Event:
    match event:
        case domain.ProductCertified(certificate=c):
            return contract.ProductCertified(**_issued(c, numbers, application_id, at))
        case domain.CertificateReevaluated(certificate=c, replaces=old):
            return contract.CertificateReevaluated(
                **_issued(c, numbers, application_id, at), replaces_certificate_id=old
            )
        case domain.CertificateUpgraded(certificate=c, replaces=old):
            return contract.CertificateUpgraded(
                **_issued(c, numbers, application_id, at), replaces_certificate_id=old
            )
        case domain.CertificateExpired(certificate_id=cid, product_id=pid, expired_on=day):
            return contract.CertificateExpired(certificate_id=cid, product_id=pid, expired_on=day)
        case domain.CertificateRevoked(certificate_id=cid, product_id=pid, revocation=r):
            return contract.CertificateRevoked(
                certificate_id=cid,
                product_id=pid,
                grounds=[contract.RevocationGround(g.value) for g in r.grounds],
                decision_number=r.decision_number,
                decision_date=r.decision_date,
                revoked_on=r.revoked_on,
            )
    raise TypeError(f"no contract for {type(event).__name__}")


def _issued(
    c: domain.Certificate, numbers: dict[UUID, str], application_id: UUID | None, at: datetime
) -> dict[str, object]:
    return {
        "certificate_id": c.id,
        "certificate_number": numbers[c.id],
        "product_id": c.product_id,
        "application_id": application_id,
        "star": c.star,
        "score": float(c.score) if c.score is not None else None,
        "level": contract.Level(c.level.value),
        "decision_number": c.decision_number,
        "decision_date": c.decision_date,
        "valid_from": c.decision_date,
        "valid_until": c.valid_until,
        "rulebook": c.rulebook.id,
        "issued_at": at,
    }


def expiring(c: domain.Certificate, days_before: int, at: datetime) -> Event:
    return contract.CertificateExpiring(
        certificate_id=c.id,
        product_id=c.product_id,
        valid_until=c.valid_until,
        days_before=days_before,
        notified_at=at,
    )
