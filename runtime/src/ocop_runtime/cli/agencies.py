"""``ocop agency add``: Kafka principals of other agencies' systems."""

from __future__ import annotations

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
    partitions: int = typer.Option(
        3, "--partitions", envvar="OCOP_TOPIC_PARTITIONS", min=1, help="Of its replies topics."
    ),
    replication_factor: int = typer.Option(
        1,
        "--replication-factor",
        envvar="OCOP_TOPIC_REPLICATION_FACTOR",
        min=1,
        help="Of its replies topics.",
    ),
) -> None:
    """Create (or reset) an agency's Kafka principal: it may read the public topics with
    consumer groups agency.NAME.*; it sends commands only to the services named by --commands
    (re-adding without it takes a grant back) and reads their answers on its own replies topic
    of each, ocop.SERVICE.replies.NAME.v1 (created here; its machine client's tokens carry the
    claim ocop_agency=NAME). Prints its settings."""
    from ocop_runtime.kafka_security import KafkaSecurityError, add_agency

    if not topics.AGENCY_NAME.fullmatch(name):
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
        principal = run(
            add_agency(
                bootstrap,
                name,
                secret,
                commands=granted,
                partitions=partitions,
                replication_factor=replication_factor,
            ),
            bootstrap,
        )
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
                "topics.replies="
                + ",".join(topics.agency_replies(s, name) for s in sorted(set(granted))),
                "topics.write=" + ",".join(topics.commands(s) for s in sorted(set(granted))),
            ]
        )
    )


def register(app: typer.Typer) -> None:
    agency = typer.Typer(help="Kafka principals of other agencies' systems.", no_args_is_help=True)
    agency.command("add")(agency_add)
    from ocop_runtime.cli.agency_replay import agency_replay

    agency.command("replay")(agency_replay)
    app.add_typer(agency, name="agency")
