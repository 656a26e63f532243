"""Inspection use cases. Each runs in the caller's transaction (an HTTP request's, or the
consumer's with its inbox row), so state, outbox and audit commit together.

One module per group: ``population`` (the certified population's copies, complaints),
``campaigns`` (plan, sample, close, report), ``visits`` (visits, findings, remediation and the
overdue sweep), ``due_process`` (notices, replies, recommendations); ``common`` holds the clock
and the outbox. :class:`Inspection` is the one entry point over all of them.
"""

from __future__ import annotations

from ocop_inspection.usecases.campaigns import Campaigns, DrawResult
from ocop_inspection.usecases.common import HANOI, SERVICE, UseCases, hanoi_now, inspector_units
from ocop_inspection.usecases.due_process import DueProcess
from ocop_inspection.usecases.population import Population
from ocop_inspection.usecases.visits import Visits, remediation_id


class Inspection(Population, Campaigns, Visits, DueProcess):
    """The inspection service's use cases with their clock (see :class:`UseCases`)."""


__all__ = [
    "HANOI",
    "SERVICE",
    "Campaigns",
    "DrawResult",
    "DueProcess",
    "Inspection",
    "Population",
    "UseCases",
    "Visits",
    "hanoi_now",
    "inspector_units",
    "remediation_id",
]
