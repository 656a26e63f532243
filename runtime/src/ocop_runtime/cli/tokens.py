"""``ocop token``: access tokens signed with the development key."""

from __future__ import annotations

from uuid import UUID

import typer

from ocop_contracts import topics
from ocop_runtime.auth import Role
from ocop_runtime.cli.common import dev_idp_dir, fail
from ocop_runtime.devidp import ensure_key, issue_token


def token_command(
    role: list[str] = typer.Option(..., "--role", help="city_office, commune_officer, ..."),
    unit: list[str] = typer.Option([], "--unit", help="A unit code the person works for."),
    producer: str | None = typer.Option(None, "--producer", help="Producer id (producer role)."),
    subject: str | None = typer.Option(None, "--subject", help="Default: a random dev id."),
    agency: str | None = typer.Option(
        None,
        "--agency",
        help="The agency whose machine client this is (claim ocop_agency; its Kafka name as in "
        "`ocop agency add NAME`): replies to its commands go to its own replies topics.",
    ),
    ttl: int = typer.Option(3600, "--ttl", min=60, max=86400, help="Seconds."),
) -> None:
    """Print an access token signed with the development key (``make up`` creates it)."""
    known = {r.value for r in Role}
    unknown = sorted(set(role) - known)
    if unknown:
        raise fail(f"unknown role(s) {', '.join(unknown)}; one of {', '.join(sorted(known))}", 2)
    try:
        producer_id = UUID(producer) if producer else None
    except ValueError as exc:
        raise fail(f"--producer {producer!r} is not a UUID", 2) from exc
    if agency is not None and not topics.AGENCY_NAME.fullmatch(agency):
        raise fail(f"--agency {agency!r}: use 2-41 lower-case letters, digits or '-'", 2)
    directory = dev_idp_dir()
    ensure_key(directory)
    typer.echo(
        issue_token(
            directory,
            roles=role,
            units=unit,
            producer_id=producer_id,
            subject=subject,
            agency=agency,
            ttl_seconds=ttl,
        )
    )


def register(app: typer.Typer) -> None:
    app.command("token")(token_command)
