"""What every registry rule shares."""

from __future__ import annotations


class RuleViolation(ValueError):
    """A command the registry's rules refuse; ``field`` names the offending input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
