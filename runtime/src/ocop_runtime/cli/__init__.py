"""The ``ocop`` command: start and stop the local stack, check the services, handle dead letters.

The runtime's commands live in this package by subject (:mod:`.stack`, :mod:`.deadletters`,
:mod:`.outbox`, :mod:`.tokens`, :mod:`.agencies`); each service in the catalogue
(:func:`ocop_runtime.services.discover`) may add its own through its spec's ``cli`` hook.
:func:`build_app` assembles the whole command; nothing is discovered at import.

The async functions (:func:`service_status`, :func:`list_dead_letters`, :func:`replay`) do the
work; the typer commands only parse options, run them and print the answer.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

import typer

from ocop_runtime.cli import agencies, asyncapi, deadletters, outbox, stack, tokens
from ocop_runtime.cli.common import (
    DEFAULT_BOOTSTRAP,
    BootstrapOption,
    CliError,
    TokenOption,
    cli_token,
    dev_idp_dir,
    fail,
    find_root,
    run,
)
from ocop_runtime.cli.deadletters import Selector, list_dead_letters, replay
from ocop_runtime.cli.stack import ServiceStatus, run_stack, service_status, service_urls
from ocop_runtime.services import discover

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "BootstrapOption",
    "CliError",
    "Selector",
    "ServiceStatus",
    "TokenOption",
    "add_runtime_commands",
    "build_app",
    "cli_token",
    "dev_idp_dir",
    "fail",
    "find_root",
    "list_dead_letters",
    "main",
    "replay",
    "run",
    "run_stack",
    "service_status",
    "service_urls",
]

if TYPE_CHECKING:
    app: typer.Typer  # built on first use by build_app()


def add_runtime_commands(root: typer.Typer) -> None:
    """Add the commands every installation has: up, down, status, dlq, outbox, token,
    agency."""
    for module in (stack, deadletters, outbox, tokens, agencies, asyncapi):
        module.register(root)


@functools.cache
def build_app() -> typer.Typer:
    """The root ``ocop`` command: the runtime's commands, then each service's own."""
    root = typer.Typer(
        help="Operate the ocop services.", no_args_is_help=True, add_completion=False
    )
    add_runtime_commands(root)
    for spec in discover():
        if spec.cli is not None:
            spec.cli(root)
    return root


def __getattr__(name: str) -> typer.Typer:
    # ``from ocop_runtime.cli import app``: built on first use, so importing this package does
    # not import every service (whose commands import it in turn).
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    # Connection failures are reported once by the command; aiokafka's own log lines repeat them.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    build_app()()
