"""Trade use cases. Each runs in the caller's transaction (an HTTP request's, or the consumer's
with its inbox row), so state, outbox and audit commit together.

One module per group: ``copies`` (registry's products, evaluation's certificates and what they
do to listings), ``promotions`` (events and participations), ``outlets`` (points of sale and
listings), ``outcomes`` (the ledger); ``common`` holds the clock and the outbox. :class:`Trade`
is the one entry point over all of them."""

from __future__ import annotations

from ocop_trade.usecases.common import HANOI, SERVICE, UseCases
from ocop_trade.usecases.copies import Copies, End
from ocop_trade.usecases.outcomes import Outcomes
from ocop_trade.usecases.outlets import Outlets
from ocop_trade.usecases.promotions import Applied, Promotions


class Trade(Copies, Promotions, Outlets, Outcomes):
    """The trade service's use cases with their clock."""


__all__ = [
    "HANOI",
    "SERVICE",
    "Applied",
    "Copies",
    "End",
    "Outcomes",
    "Outlets",
    "Promotions",
    "Trade",
    "UseCases",
]
