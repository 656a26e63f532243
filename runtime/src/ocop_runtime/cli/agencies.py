"""``ocop agency add``: Kafka principals of other agencies' systems."""

from __future__ import annotations

import re
import secrets

import typer

from ocop_contracts import topics
from ocop_runtime.cli.common import BootstrapOption, fail, run


def agency_add(
    name: str = typer.Argument(..., help="Short lower-case name, e.g. so-cong-thuong."),
    bootstrap: str = BootstrapOption,
    password: str | None = typer.Option(
        None, "--password", envvar="OCOP_AGENCY_PASSWORD", help="Default: a random one."
    ),
) -> None:
    """Create (or reset) an agency's Kafka principal: it may read the public topics and its
    replies with consumer groups agency.NAME.*, and send commands. Prints its settings."""
    from ocop_runtime.kafka_security import KafkaSecurityError, add_agency

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,40}", name):
        raise fail(f"agency name {name!r}: use 2-41 lower-case letters, digits or '-'", 2)
    secret = password or secrets.token_urlsafe(24)
    try:
        principal = run(add_agency(bootstrap, name, secret), bootstrap)
    except KafkaSecurityError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        "\n".join(
            [
                f"bootstrap.servers={bootstrap}",
                "security.protocol=SASL_PLAINTEXT",
                "sasl.mechanism=SCRAM-SHA-512",
                f"sasl.username={principal}",
                f"sasl.password={secret}",
                f"group.id.prefix=agency.{name}.",
                "topics.read=" + ",".join(topics.EVENT_TOPICS),
            ]
        )
    )


def register(app: typer.Typer) -> None:
    agency = typer.Typer(help="Kafka principals of other agencies' systems.", no_args_is_help=True)
    agency.command("add")(agency_add)
    app.add_typer(agency, name="agency")
