"""The service catalogue: which services exist, on which port, owning which schema.

Each service package declares one :class:`ServiceEntry` and registers it as an entry point of the
group ``ocop.services`` in its ``pyproject.toml``::

    [project.entry-points."ocop.services"]
    <name> = "ocop_<name>.service:SPEC"

:func:`discover` reads them, so the runtime, the ``ocop`` command and the local-stack scripts
(``python -m ocop_runtime.services``) learn the list from the installed packages instead of
keeping one of their own.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ocop_contracts import topics

if TYPE_CHECKING:
    import typer

ENTRY_POINT_GROUP = "ocop.services"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

CliHook = Callable[["typer.Typer"], None]
"""Adds a service's own commands to the root ``ocop`` typer app."""


@dataclass(frozen=True)
class ServiceEntry:
    """What the rest of the system needs to know about one service.

    ``schema`` is the PostgreSQL schema the service owns (default: its name); it logs in as
    :attr:`login_role`. ``publishes`` and ``consumes`` name topics of
    :mod:`ocop_contracts.topics`; ``roles`` name :class:`ocop_runtime.auth.Role` values of the
    people and clients whose work the service holds (docs/SECURITY.md), as plain strings so
    that reading the catalogue stays light (tests/test_service_catalogue.py checks them).
    """

    name: str
    http_port: int
    schema: str = ""
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    cli: CliHook | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"service name {self.name!r} is not a plain lower-case identifier")
        if not self.schema:
            object.__setattr__(self, "schema", self.name)
        if not _NAME.match(self.schema):
            raise ValueError(f"schema {self.schema!r} is not a plain lower-case identifier")
        if not 1 <= self.http_port <= 65535:
            raise ValueError(f"{self.name}: http_port {self.http_port} is not a TCP port")
        for attribute in ("publishes", "consumes", "roles"):
            object.__setattr__(self, attribute, tuple(getattr(self, attribute)))

    @property
    def login_role(self) -> str:
        """The PostgreSQL login role of the service (``ocop_<name>``)."""
        return f"ocop_{self.name}"

    @property
    def package(self) -> str:
        """The service's Python package (``python -m ocop_<name>`` runs it)."""
        return f"ocop_{self.name}"


def discover() -> list[ServiceEntry]:
    """Every installed service's spec (entry points of group ``ocop.services``), by port."""
    specs: dict[str, ServiceEntry] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        spec = entry.load()
        if not isinstance(spec, ServiceEntry):
            raise TypeError(
                f"entry point {entry.name} = {entry.value!r} of group {ENTRY_POINT_GROUP} "
                "is not a ServiceEntry"
            )
        if spec.name != entry.name:
            raise ValueError(
                f"entry point {entry.name} = {entry.value!r} names a spec of {spec.name!r}"
            )
        specs[spec.name] = spec
    return sorted(specs.values(), key=lambda s: (s.http_port, s.name))


def reserved(specs: Sequence[ServiceEntry]) -> list[str]:
    """Services the topic catalogue names that no installed package provides (yet): their
    Kafka principals and database roles are provisioned ahead of them."""
    known = {s.name for s in specs}
    return [name for name in topics.SERVICES if name not in known]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ocop_runtime.services [--all]``: one ``name port schema`` line a service."""
    parser = argparse.ArgumentParser(
        prog="python -m ocop_runtime.services",
        description="Print the service catalogue, one 'name port schema' line a service.",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also the services the topic catalogue reserves (port '-'), for provisioning",
    )
    args = parser.parse_args(argv)
    specs = discover()
    lines = [f"{s.name} {s.http_port} {s.schema}" for s in specs]
    if args.all:
        lines += [f"{name} - {name}" for name in reserved(specs)]
    sys.stdout.write("".join(f"{line}\n" for line in lines))


if __name__ == "__main__":
    # Run the imported module's main: the services' specs are instances of its ServiceEntry,
    # not of this __main__ copy's.
    from ocop_runtime.services import main as catalogue

    catalogue()
