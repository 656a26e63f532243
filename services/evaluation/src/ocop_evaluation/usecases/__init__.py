"""Evaluation use cases. Each runs in the caller's transaction (an HTTP request's, or the
consumer's with its inbox row), so state, outbox and audit commit together.

One module per group: ``intake`` (registry's producers, products and applications, a
withdrawal), ``rounds`` (opening, council, score sheets, integrity review, returning, closing),
``certificates`` (the decision, expiry, revocation, inspection's recommendations); ``common``
holds the clock and the outbox. :class:`Evaluation` is the one entry point over all of them.
"""

from __future__ import annotations

from ocop_evaluation.domain import summarise
from ocop_evaluation.usecases.certificates import Certificates
from ocop_evaluation.usecases.common import HANOI, SERVICE, UseCases, hanoi_now
from ocop_evaluation.usecases.history import HistoryImport
from ocop_evaluation.usecases.intake import ENTRY_LEVEL, Intake
from ocop_evaluation.usecases.rounds import Opened, Results, Rounds


class Evaluation(Intake, Rounds, Certificates, HistoryImport):
    """The evaluation service's use cases with their clock (see :class:`UseCases`)."""


__all__ = [
    "ENTRY_LEVEL",
    "HANOI",
    "SERVICE",
    "Certificates",
    "Evaluation",
    "HistoryImport",
    "Intake",
    "Opened",
    "Results",
    "Rounds",
    "UseCases",
    "hanoi_now",
    "summarise",
]
