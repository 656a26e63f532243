"""The one place evaluation's contract events are built: entries, results and certificates ->
``ocop_contracts.events.evaluation`` (numbers and times come from the records). Free text
(reasons, integrity flags) leaves with phone numbers, national ids and e-mail addresses masked
(:func:`ocop_runtime.personal.mask_personal_data`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from ocop_contracts import Event
from ocop_contracts.events import evaluation as contract
from ocop_evaluation import domain
from ocop_runtime.personal import mask_all

# ---------------------------------------------------------------- certificates


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
                grounds=v1_grounds(r.grounds),
                decision_number=r.decision_number,
                decision_date=r.decision_date,
                revoked_on=r.revoked_on,
                ground_codes=[g.value for g in r.grounds],
                application_id=application_id,
            )
    raise TypeError(f"no contract for {type(event).__name__}")


# Grounds added after v1 of CertificateRevoked, and the v1 ground each falls under: a product
# without quality or traceability records lacks the internal control and traceability item
# that is mandatory from 3★; a re-evaluation below 3★ means the product no longer has the
# quality it was certified for.
_V1_GROUND = {
    domain.RevocationGround.NO_QUALITY_RECORDS: domain.RevocationGround.FAILED_MANDATORY_CRITERIA,
    domain.RevocationGround.FAILED_REEVALUATION: domain.RevocationGround.QUALITY_MISMATCH,
}


def v1_grounds(grounds: Sequence[domain.RevocationGround]) -> list[contract.RevocationGround]:
    out: list[contract.RevocationGround] = []
    for g in grounds:
        v1 = contract.RevocationGround(_V1_GROUND.get(g, g).value)
        if v1 not in out:
            out.append(v1)
    return out


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


# ---------------------------------------------------------------- entries and results


def application_accepted(entry: domain.Entry, at: datetime) -> Event:
    """``entry`` joined a round."""
    assert entry.round_id is not None
    return contract.ApplicationAccepted(
        application_id=entry.application_id,
        product_id=entry.product_id,
        round_id=entry.round_id,
        level=contract.Level(entry.level.value),
        accepted_at=at,
    )


def application_returned(entry: domain.Entry, reasons: list[str], at: datetime) -> Event:
    return contract.ApplicationReturned(
        application_id=entry.application_id,
        product_id=entry.product_id,
        reasons=mask_all(reasons),
        returned_at=at,
    )


def product_scored(
    entry: domain.Entry,
    round_id: UUID,
    level: domain.Level,
    result: domain.CouncilResult,
    outcome: domain.Outcome,
    flags: Sequence[domain.IntegrityFlag],
    parts: dict[str, float],
    at: datetime,
) -> Event:
    return contract.ProductScored(
        application_id=entry.application_id,
        product_id=entry.product_id,
        round_id=round_id,
        level=contract.Level(level.value),
        score=float(result.score),
        parts=parts,
        band=result.band,
        star=result.star,
        outcome=outcome.kind.value,
        outcome_star=outcome.star,
        forwarded_to=contract.Level(outcome.to_level.value) if outcome.to_level else None,
        rulebook=result.rulebook.id,
        rulebook_version=result.rulebook.version,
        flags=mask_all([f"{f.kind.value}: {f.detail}" for f in flags]),
        reasons=mask_all(list(result.reasons)),
        scored_at=at,
    )


def product_nominated(
    entry: domain.Entry,
    round_id: UUID,
    result: domain.CouncilResult,
    outcome: domain.Outcome,
    at: datetime,
) -> Event:
    """Sent up for 5★ while this level certifies the carried star."""
    assert outcome.to_level is not None
    return contract.ProductNominated(
        application_id=entry.application_id,
        product_id=entry.product_id,
        round_id=round_id,
        score=float(result.score),
        carried_star=outcome.star or 4,
        to_level=contract.Level(outcome.to_level.value),
        nominated_at=at,
    )


def product_not_recognised(
    entry: domain.Entry, result: domain.CouncilResult, outcome: domain.Outcome, at: datetime
) -> Event:
    return contract.ProductNotRecognised(
        application_id=entry.application_id,
        product_id=entry.product_id,
        score=float(result.score),
        reasons=mask_all([outcome.reason, *result.reasons]),
        decided_at=at,
    )


def decision_not_granted(entry: domain.Entry, reason: str, at: datetime) -> Event:
    """The decision granted this scored product nothing new (an upgrade not reached, say)."""
    score = (entry.result or {}).get("score")
    return contract.ProductNotRecognised(
        application_id=entry.application_id,
        product_id=entry.product_id,
        score=float(score) if score is not None else None,
        reasons=mask_all([reason]),
        decided_at=at,
    )
