"""``ocop import [KIND] FILE``: one command for every service's bulk import.

A service adds the kind of file it imports (say ``products``) with :func:`add_import_kind`
from its catalogue entry's CLI hook; the kind whose ``default`` is set also answers
``ocop import FILE`` alone. Hooks run in any order: the first one creates the command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import typer

_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@dataclass
class _Kinds:
    commands: dict[str, Callable[..., Any]] = field(default_factory=dict)
    default: str | None = None

    def overview(self) -> str:
        lines = ["Usage: ocop import [KIND] FILE [OPTIONS]", "", "Kinds:"]
        for name, command in sorted(self.commands.items()):
            summary = (command.__doc__ or "").strip().splitlines()[0:1]
            mark = " (default)" if name == self.default else ""
            lines.append(f"  {name}{mark}: {summary[0] if summary else ''}")
        lines.append("")
        lines.append("ocop import KIND --help shows a kind's options.")
        return "\n".join(lines)


_APPS: dict[int, _Kinds] = {}


def add_import_kind(
    app: typer.Typer, kind: str, command: Callable[..., Any], *, default: bool = False
) -> None:
    """Add ``ocop import KIND ...`` running ``command`` (a typer command function)."""
    kinds = _APPS.get(id(app))
    if kinds is None:
        kinds = _APPS[id(app)] = _Kinds()
        _register(app, kinds)
    kinds.commands[kind] = command
    if default:
        kinds.default = kind


def _register(app: typer.Typer, kinds: _Kinds) -> None:
    @app.command("import", context_settings=_CONTEXT, add_help_option=False)
    def import_(ctx: typer.Context) -> None:
        """Import a file of one of the kinds the services add (``ocop import --help`` lists
        them)."""
        args = list(ctx.args)
        if not args or args[0] in ("--help", "-h"):
            typer.echo(kinds.overview())
            raise typer.Exit(0 if args else 2)
        if args[0] in kinds.commands:
            kind, rest = args[0], args[1:]
        elif kinds.default is not None:
            kind, rest = kinds.default, args
        else:
            typer.echo(kinds.overview(), err=True)
            raise typer.Exit(2)
        sub = typer.Typer(add_completion=False)
        sub.command()(kinds.commands[kind])
        typer.main.get_command(sub).main(args=rest, prog_name=f"ocop import {kind}")
