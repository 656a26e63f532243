"""Commands services accept from other agencies' systems on ``ocop.<service>.commands.v1``,
and their replies on ``ocop.<service>.replies.v1``, one module per accepting service."""

from ocop_contracts.commands.evaluation import (
    CloseRound,
    EvaluationCommandAccepted,
    EvaluationCommandRejected,
    OpenRound,
    RecordDecision,
    SubmitScoreSheet,
)
from ocop_contracts.commands.inspection import (
    FindingInput,
    InspectionCommandAccepted,
    InspectionCommandRejected,
    RecordFindings,
    RecordVisit,
)
from ocop_contracts.commands.registry import (
    RegisterProducer,
    RegisterProduct,
    RegistryCommandAccepted,
    RegistryCommandRejected,
    SubmitApplication,
)
from ocop_contracts.commands.trade import (
    ApplyToPromotion,
    RecordOutcome,
    TradeCommandAccepted,
    TradeCommandRejected,
)

__all__ = [
    "ApplyToPromotion",
    "CloseRound",
    "EvaluationCommandAccepted",
    "EvaluationCommandRejected",
    "FindingInput",
    "InspectionCommandAccepted",
    "InspectionCommandRejected",
    "OpenRound",
    "RecordDecision",
    "RecordFindings",
    "RecordOutcome",
    "RecordVisit",
    "RegisterProducer",
    "RegisterProduct",
    "RegistryCommandAccepted",
    "RegistryCommandRejected",
    "SubmitApplication",
    "SubmitScoreSheet",
    "TradeCommandAccepted",
    "TradeCommandRejected",
]
