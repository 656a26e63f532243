"""What every registry rule shares."""

from __future__ import annotations

from ocop_runtime.refusals import RuleViolation

__all__ = ["RuleViolation"]
