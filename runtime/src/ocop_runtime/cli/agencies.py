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
    commands: str = typer.Option(
        "",
        "--commands",
        help="Comma-separated services whose command topic the agency may write (e.g. "
        "registry); default: none, the agency only reads. Each command still needs an "
        "access token whose roles allow it.",
    ),
) -> None:
    """Create (or reset) an agency's Kafka principal: it may read the public topics and the
    replies with consumer groups agency.NAME.*; it sends commands only to the services named
    by --commands (re-adding without it takes a grant back). Prints its settings."""
    from ocop_runtime.kafka_security import KafkaSecurityError, add_agency

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,40}", name):
        raise fail(f"agency name {name!r}: use 2-41 lower-case letters, digits or '-'", 2)
    granted = [c.strip() for c in commands.split(",") if c.strip()]
    unknown = sorted(set(granted) - set(topics.COMMAND_SERVICES))
    if unknown:
        raise fail(
            f"--commands {', '.join(unknown)}: no such command topic; one of "
            + ", ".join(topics.COMMAND_SERVICES),
            2,
        )
    secret = password or secrets.token_urlsafe(24)
    try:
        principal = run(add_agency(bootstrap, name, secret, commands=granted), bootstrap)
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
                "topics.write=" + ",".join(topics.commands(s) for s in sorted(set(granted))),
            ]
        )
    )


def register(app: typer.Typer) -> None:
    agency = typer.Typer(help="Kafka principals of other agencies' systems.", no_args_is_help=True)
    agency.command("add")(agency_add)
    app.add_typer(agency, name="agency")
