"""Registry HTTP API: producers, products, applications, administrative units and the
public product lookup, one router a module. Every route calls a use case in one transaction
or a store read; :mod:`.common` holds what the routers share."""

from ocop_registry.api.applications import applications_router
from ocop_registry.api.common import scope_of
from ocop_registry.api.producers import producers_router
from ocop_registry.api.products import products_router
from ocop_registry.api.public import public_router
from ocop_registry.api.reference import reference_router

__all__ = [
    "applications_router",
    "producers_router",
    "products_router",
    "public_router",
    "reference_router",
    "scope_of",
]
