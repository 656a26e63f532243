"""One refusal vocabulary for every service: a user's mistake, said once.

A use case raises one of these; the runtime answers it over HTTP (``audited`` turns it into a
4xx with the field and the reason) and over Kafka (``commands.Answerer`` turns it into the
service's ``CommandRejected``). On a consumed event it means the event can never be applied here,
so it is dead-lettered at once instead of retried.

Standard library only: a service's pure domain may raise :class:`RuleViolation`.
"""

from __future__ import annotations

from typing import ClassVar


class Unprocessable(Exception):
    """A well-formed record that can never be applied here (it names something this service has
    never seen, or breaks a rule): dead-lettered at once, without retries."""


class Refusal(Unprocessable):
    """A command refused for a reason the caller can read: ``field`` names what is wrong."""

    status: ClassVar[int] = 422
    kind: ClassVar[str] = "rule_violation"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RuleViolation(Refusal, ValueError):
    """The command breaks a rule of the programme (422)."""


class NotFound(Refusal, LookupError):
    """Nothing by that id here, or nothing the caller may see (404)."""

    status = 404
    kind = "not_found"


class Conflict(Refusal):
    """The command clashes with the current state or a registered business key (409)."""

    status = 409
    kind = "conflict"


class Forbidden(Refusal):
    """The caller may not act on that record or unit (403)."""

    status = 403
    kind = "forbidden"


class Unauthenticated(Refusal):
    """The caller proved no identity (a Kafka command without a valid access token) (401)."""

    status = 401
    kind = "unauthenticated"
