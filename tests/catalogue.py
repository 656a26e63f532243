"""The service catalogue as the cross-service tests see it: each discovered spec with its
settings class (the :class:`ServiceSettings` subclass in ``ocop_<name>.settings``)."""

from __future__ import annotations

import importlib
import inspect

from ocop_runtime.services import ServiceEntry, discover
from ocop_runtime.settings import ServiceSettings

SPECS: list[ServiceEntry] = discover()
BY_NAME: dict[str, ServiceEntry] = {s.name: s for s in SPECS}


def settings_class(spec: ServiceEntry) -> type[ServiceSettings]:
    """The one settings class that ``ocop_<name>.settings`` defines."""
    module = importlib.import_module(f"{spec.package}.settings")
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
        and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module.__name__} defines {len(found)} settings classes"
    return found[0]
