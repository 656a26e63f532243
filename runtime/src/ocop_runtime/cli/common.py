"""What every ``ocop`` command shares: refusals, options, running a coroutine, the dev token."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from aiokafka.errors import KafkaError

from ocop_runtime.devidp import idp_dir, issue_token

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"

T = TypeVar("T")


class CliError(Exception):
    """A refusal or failure to report to the operator as one line, without a traceback."""


BootstrapOption = typer.Option(
    DEFAULT_BOOTSTRAP,
    "--bootstrap",
    envvar="OCOP_KAFKA_BOOTSTRAP_SERVERS",
    help="Kafka bootstrap servers.",
)
TokenOption = typer.Option(
    None,
    "--token",
    envvar="OCOP_TOKEN",
    help="Bearer token (default: a city-office token from the development key).",
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error; raise the returned exit to stop with ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def run(work: Coroutine[Any, Any, T], bootstrap: str) -> T:
    """Run ``work``; a :class:`CliError` or a Kafka failure becomes one line and exit code 1."""
    try:
        return asyncio.run(work)
    except CliError as exc:
        raise fail(str(exc)) from None
    except (KafkaError, OSError) as exc:
        raise fail(f"Kafka at {bootstrap}: {exc}") from None


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that has ``deploy/stack.sh``."""
    for folder in (start, *start.parents):
        if (folder / "deploy" / "stack.sh").is_file():
            return folder
    raise CliError(f"no deploy/stack.sh in {start} or above: run ocop inside the ocop repository")


def dev_idp_dir() -> Path:
    """The development key of this checkout's stack (or of ``OCOP_STATE_DIR``)."""
    if os.environ.get("OCOP_STATE_DIR"):
        return idp_dir()
    try:
        return idp_dir(find_root(Path.cwd()) / ".ocop")
    except CliError:
        return idp_dir()


def cli_token(token: str | None) -> str | None:
    """The given token, else one from the development key (``make up`` made it), if any."""
    if token:
        return token
    directory = dev_idp_dir()
    if (directory / "signing-key.pem").exists():
        return issue_token(directory, roles=["city_office"], subject="ocop-cli", name="ocop CLI")
    return None
