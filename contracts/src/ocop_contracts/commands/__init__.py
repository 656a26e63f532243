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
from ocop_contracts.commands.registry import (
    RegisterProducer,
    RegisterProduct,
    RegistryCommandAccepted,
    RegistryCommandRejected,
    SubmitApplication,
)

__all__ = [
    "CloseRound",
    "EvaluationCommandAccepted",
    "EvaluationCommandRejected",
    "OpenRound",
    "RecordDecision",
    "RegisterProducer",
    "RegisterProduct",
    "RegistryCommandAccepted",
    "RegistryCommandRejected",
    "SubmitApplication",
    "SubmitScoreSheet",
]
