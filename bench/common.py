"""What the benchmarks share: settings of a service under measurement, quiet logs."""

from __future__ import annotations

import logging
import os
from typing import TypeVar
from uuid import uuid4

from pydantic import SecretStr

from ocop_runtime.devidp import jwks_url
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import session_idp

S = TypeVar("S", bound=ServiceSettings)


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def quiet_faststream() -> None:
    """FastStream logs every subscription at INFO on stdout; keep the tables readable."""
    for name in ("faststream", "faststream.access.kafka"):
        logging.getLogger(name).addFilter(_WarningsOnly())


def bench_settings(settings_type: type[S], unique: str | None = None) -> S:
    """Settings for an in-process service on the bench stack, with a schema of its own."""
    service = settings_type.model_fields["service"].default
    unique = unique or uuid4().hex[:8]
    return settings_type(
        env="test",
        database_url=SecretStr(os.environ["OCOP_BENCH_DATABASE_URL"]),
        db_schema=f"{service}_bench_{unique}",
        consumer_group=f"ocop.{service}.bench.{unique}",
        kafka_bootstrap_servers=os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"],
        oidc_jwks_url=jwks_url(session_idp()),
        # One client sends thousands of requests a minute here: the limits are not measured.
        rate_limit_burst=1_000_000,
        rate_limit_subject_burst=1_000_000,
    )
