"""What the inspection domain shares: the checklist's vocabulary and small helpers."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from ocop_runtime.refusals import RuleViolation


class Category(StrEnum):
    """The checklist of a visit."""

    PACKAGING = "packaging"
    LABEL = "label"  # label and OCOP stamp
    IP_CERTIFICATE = "ip_certificate"  # IP / trademark protection certificate
    ENVIRONMENT = "environment"
    FOOD_SAFETY = "food_safety"
    TRACEABILITY = "traceability"
    DOSSIER = "dossier"
    PROCESS_NOT_FOLLOWED = "process_not_followed"
    QUALITY_MISMATCH = "quality_mismatch"
    OTHER = "other"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class Outcome(StrEnum):
    """The outcome ladder of a finding."""

    COMPLIANT = "compliant"
    ADVICE = "advice"
    REMEDIATION = "remediation"
    REVISIT = "revisit"
    REFERRAL = "referral"
    REEVALUATION = "reevaluation"
    REVOCATION = "revocation"


class LabResult(StrEnum):
    PENDING = "pending"
    PASS = "pass"
    FAIL = "fail"


# Evaluation's revocation grounds (what the issuing committee can decide on).
REVOCATION_GROUNDS = frozenset(
    {
        "not_reevaluated",
        "failed_mandatory_criteria",
        "food_safety_breach",
        "process_not_followed",
        "quality_mismatch",
        "operation_suspended",
    }
)


def require(condition: bool, field: str, reason: str) -> None:
    if not condition:
        raise RuleViolation(field, reason)


def days_between(start: date, end: date) -> int:
    return (end - start).days
