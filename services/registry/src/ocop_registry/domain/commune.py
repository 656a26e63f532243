"""The commune's pre-assessment under 1489/QĐ-TTg (from 6 July 2025).

Between the producer's submission and the city round, the commune (or ward) committee scores
the local-content criteria, holds a meeting, writes its report, checks the dossier's form and
asks the city to evaluate the product (the domain brief, §3 and §4, ``CommuneAssessed``). The
report joins the dossier as a ``commune_report`` document. A commune that finds the dossier
not ready returns it to the producer with its reasons instead of asking the city.

The local-content criteria are those of the 148 score sheets that 1489 kept: origin of the raw
materials (or of the site's resources), local labour, origin of the product idea, and the local
identity in the product's story. Their maxima are those of the shipped sheets, which are
modelled (see evaluation's ``data/rulebooks/SOURCES.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ocop_registry.domain.applications import Application, ApplicationStatus, check_transition
from ocop_registry.domain.classification import Regime
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.dossier import DocumentType, EvidenceFile, check_evidence
from ocop_registry.domain.producers import check_name

# criterion id -> (what it scores, maximum points on the 148/1489 sheets)
LOCAL_CONTENT: Mapping[str, tuple[str, int]] = {
    "A1.1": ("origin of the raw materials", 4),
    "A1.2": ("use of local labour", 2),
    "A2.1": ("origin of the product idea", 2),
    "B2.3": ("local identity and culture in the product's story", 4),
}


@dataclass(frozen=True, slots=True)
class CommuneAssessment:
    """What the commune recorded: its points on the local-content criteria, its report, and
    whether it asked the city to evaluate the product (or returned the dossier, with reasons)."""

    local_points: Mapping[str, float]
    report: EvidenceFile
    request_to_city: bool
    reasons: tuple[str, ...] = ()
    assessed_by: str = ""
    assessed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CommuneAssessed:
    application: Application
    assessment: CommuneAssessment


def _check_points(points: Mapping[str, float]) -> dict[str, float]:
    missing = sorted(set(LOCAL_CONTENT) - set(points))
    unknown = sorted(set(points) - set(LOCAL_CONTENT))
    if unknown:
        raise RuleViolation(
            "local_points",
            f"{unknown[0]!r} is not a local-content criterion; they are "
            + ", ".join(LOCAL_CONTENT),
        )
    if missing:
        raise RuleViolation("local_points", f"the commune must score {', '.join(missing)}")
    checked = {}
    for cid, value in points.items():
        name, maximum = LOCAL_CONTENT[cid]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise RuleViolation(f"local_points.{cid}", "must be a number")
        if not 0 <= value <= maximum:
            raise RuleViolation(
                f"local_points.{cid}", f"{value} is not between 0 and {maximum} ({name})"
            )
        checked[cid] = float(value)
    return checked


def assess_at_commune(
    app: Application, assessment: CommuneAssessment, *, now: datetime
) -> tuple[Application, list[CommuneAssessed]]:
    """Record the commune's pre-assessment of a submitted 1489 dossier: with a request to the
    city the dossier moves on (``commune_assessed``); without one it is returned."""
    if app.regime is not Regime.R1489:
        shown = app.regime.value if app.regime else "none (not submitted)"
        raise RuleViolation(
            "regime",
            f"the commune pre-assesses only under 1489/QĐ-TTg; this dossier's regime is {shown}",
        )
    report = check_evidence(assessment.report)
    if report.document_type is not DocumentType.COMMUNE_REPORT:
        raise RuleViolation("report.document_type", "the commune's report is a commune_report")
    reasons = tuple(check_name(r, "reasons", 500) for r in assessment.reasons)
    if not assessment.request_to_city and not reasons:
        raise RuleViolation("reasons", "a commune that returns a dossier says why")
    target = (
        ApplicationStatus.COMMUNE_ASSESSED
        if assessment.request_to_city
        else (ApplicationStatus.RETURNED)
    )
    check_transition(app.status, target)
    recorded = replace(
        assessment,
        local_points=_check_points(assessment.local_points),
        report=report,
        reasons=reasons,
        assessed_at=now,
    )
    done = replace(
        app,
        status=target,
        documents=(*app.documents, report),
        reasons=reasons,
        commune_assessment=recorded,
        version=app.version + 1,
        updated_at=now,
    )
    return done, [CommuneAssessed(done, recorded)]
