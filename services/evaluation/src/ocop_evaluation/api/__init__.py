"""Evaluation HTTP API, one module per router: ``producers`` (the copy of registry's
producers), ``rounds`` (rounds, councils, score sheets, closing, decisions), ``certificates``
(certificates, the expiry radar, revocation, a product's history, inspection's
recommendations) and ``clock`` (the evaluation clock and the expiry sweep); ``common`` holds
the role dependencies and ``use_case``."""

from __future__ import annotations

from ocop_evaluation.api.certificates import certificates_router
from ocop_evaluation.api.clock import clock_router
from ocop_evaluation.api.producers import router
from ocop_evaluation.api.rounds import rounds_router

__all__ = ["certificates_router", "clock_router", "rounds_router", "router"]
