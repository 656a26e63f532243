"""The commune's pre-assessment of a submitted 1489 dossier, as one use case in the caller's
transaction (HTTP): load the dossier in the officer's scope, record the assessment, save it
and publish ``CommuneAssessed``. A repeat with the same report has no second effect."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ocop_registry import store
from ocop_registry.domain import applications as apps
from ocop_registry.domain import commune
from ocop_registry.usecases import Registry
from ocop_runtime.refusals import NotFound


async def assess_at_commune(
    registry: Registry,
    conn: asyncpg.Connection,
    application_id: UUID,
    assessment: commune.CommuneAssessment,
    scope: store.Scope | None = None,
) -> tuple[apps.Application, bool]:
    """The dossier after the commune's assessment, and whether it was recorded now."""
    current = await store.get_application(conn, application_id, for_update=True, scope=scope)
    if current is None:
        raise NotFound("application_id", f"application {application_id} does not exist")
    done = current.commune_assessment
    if done is not None and done.report.sha256 == assessment.report.sha256:
        return current, False
    assessed, events = commune.assess_at_commune(current, assessment, now=registry.clock())
    await store.save_application(conn, assessed)
    await registry.publish(conn, list(events))
    return assessed, True
