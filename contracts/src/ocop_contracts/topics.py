"""The topic catalogue: the public interface of ocop on Kafka.

Names follow ``ocop.<service>.<stream>.v<major>``. A breaking change to a stream's events is a new
major version on a new topic; ``v1`` only ever gains optional fields.
"""

from __future__ import annotations

import re
from typing import Final

SERVICES: Final = ("registry", "evaluation", "trade", "inspection", "insights")

REGISTRY_PRODUCERS: Final = "ocop.registry.producers.v1"
REGISTRY_PRODUCTS: Final = "ocop.registry.products.v1"
REGISTRY_APPLICATIONS: Final = "ocop.registry.applications.v1"
EVALUATION_RESULTS: Final = "ocop.evaluation.results.v1"
EVALUATION_CERTIFICATES: Final = "ocop.evaluation.certificates.v1"
TRADE_PROMOTIONS: Final = "ocop.trade.promotions.v1"
TRADE_LISTINGS: Final = "ocop.trade.listings.v1"
INSPECTION_CAMPAIGNS: Final = "ocop.inspection.campaigns.v1"
INSPECTION_FINDINGS: Final = "ocop.inspection.findings.v1"
# The programme's statistics, one snapshot per statistic and dimension (the record key);
# log-compacted, so a dashboard reading it from the start gets the latest of each.
INSIGHTS_STATISTICS: Final = "ocop.insights.statistics.v1"

EVENT_TOPICS: Final = (
    REGISTRY_PRODUCERS,
    REGISTRY_PRODUCTS,
    REGISTRY_APPLICATIONS,
    EVALUATION_RESULTS,
    EVALUATION_CERTIFICATES,
    TRADE_PROMOTIONS,
    TRADE_LISTINGS,
    INSPECTION_CAMPAIGNS,
    INSPECTION_FINDINGS,
    INSIGHTS_STATISTICS,
)
# Topics whose older records of a key are compacted away (only the latest per key is kept).
COMPACTED_TOPICS: Final = (INSIGHTS_STATISTICS,)

# Services that accept commands from other agencies' systems over Kafka.
COMMAND_SERVICES: Final = ("registry", "evaluation", "trade", "inspection")
# Services that consume topics, and so own a dead-letter topic.
CONSUMER_SERVICES: Final = ("registry", "evaluation", "trade", "inspection", "insights")


def commands(service: str) -> str:
    """The topic on which ``service`` accepts commands from machines."""
    _check(service, COMMAND_SERVICES)
    return f"ocop.{service}.commands.v1"


def replies(service: str) -> str:
    """Where ``service`` answers commands it rejected (and accepted), keyed like the command.

    A separate topic so that a sender can read the outcome of its commands without being
    allowed to read other senders' commands.
    """
    _check(service, COMMAND_SERVICES)
    return f"ocop.{service}.replies.v1"


# An agency's short name (``ocop agency add NAME``; the ``ocop_agency`` claim of its client).
AGENCY_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{1,40}")


def replies_prefix(service: str) -> str:
    """What every replies topic of ``service`` starts with: the shared one and each agency's."""
    _check(service, COMMAND_SERVICES)
    return f"ocop.{service}.replies."


def agency_replies(service: str, agency: str) -> str:
    """Where ``service`` answers the commands of ``agency``'s machine client (a token whose
    ``ocop_agency`` claim names it), keyed like the command: only that agency may read it, so
    no agency sees another's commands or answers. :func:`replies` answers everyone else (the
    city office, the services' own senders, and senders whose token did not verify)."""
    if not AGENCY_NAME.fullmatch(agency):
        raise ValueError(f"agency name {agency!r}: use 2-41 lower-case letters, digits or '-'")
    return f"{replies_prefix(service)}{agency}.v1"


def dlq(consumer: str) -> str:
    """The dead-letter topic of the consuming service ``consumer``."""
    _check(consumer, CONSUMER_SERVICES)
    return f"ocop.{consumer}.dlq.v1"


# What each service reads (its Kafka ACLs grant exactly these; a test holds each service's
# subscriptions to this table).
SUBSCRIPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "registry": (EVALUATION_RESULTS, EVALUATION_CERTIFICATES, "ocop.registry.commands.v1"),
    "evaluation": (
        REGISTRY_PRODUCERS,
        REGISTRY_PRODUCTS,
        REGISTRY_APPLICATIONS,
        INSPECTION_FINDINGS,
        "ocop.evaluation.commands.v1",
    ),
    "trade": (REGISTRY_PRODUCTS, EVALUATION_CERTIFICATES, "ocop.trade.commands.v1"),
    "inspection": (
        REGISTRY_PRODUCERS,
        REGISTRY_PRODUCTS,
        EVALUATION_CERTIFICATES,
        "ocop.inspection.commands.v1",
    ),
    "insights": tuple(t for t in EVENT_TOPICS if t != INSIGHTS_STATISTICS),
}


def written_by(service: str) -> tuple[str, ...]:
    """The topics ``service`` publishes to: its event streams, its replies, its dead letters."""
    own = tuple(t for t in EVENT_TOPICS if t.startswith(f"ocop.{service}."))
    if service in COMMAND_SERVICES:
        own += (replies(service),)
    if service in CONSUMER_SERVICES:
        own += (dlq(service),)
    return own


def all_topics() -> tuple[str, ...]:
    """Every topic the system uses; created at start-up."""
    return (
        *EVENT_TOPICS,
        *(commands(s) for s in COMMAND_SERVICES),
        *(replies(s) for s in COMMAND_SERVICES),
        *(dlq(s) for s in CONSUMER_SERVICES),
    )


def _check(service: str, allowed: tuple[str, ...]) -> None:
    if service not in allowed:
        raise ValueError(
            f"unknown ocop service {service!r} here; expected one of {', '.join(allowed)}"
        )
