"""asyncpg queries on the registry schema, one module an aggregate; no rules.

Paging (filters, sorts, cursors, pages) is :mod:`ocop_runtime.paging`; :mod:`.scope` holds what
the registry adds to it: whose rows a caller sees, and unit filters that know the 2025
reorganisation.
"""

from ocop_registry.store.admin_units import (
    all_commune_versions,
    list_units,
    load_admin_units,
)
from ocop_registry.store.applications import (
    APPLICATION_SORTS,
    ApplicationFilter,
    get_application,
    insert_application,
    list_applications,
    open_application_of,
    save_application,
)
from ocop_registry.store.certificates import (
    certificates_of,
    end_certificate,
    record_certificate,
    set_current_certificate,
)
from ocop_registry.store.producers import (
    PRODUCER_SORTS,
    ProducerFilter,
    count_active_products,
    get_producer,
    insert_producer,
    insert_producers,
    list_producers,
    producer_by_registration,
    producers_by_registration,
    producers_in_scope,
    save_producer,
    unnumbered_producers,
)
from ocop_registry.store.products import (
    CERTIFICATE_STATUS_SQL,
    PRODUCT_SORTS,
    ProductFilter,
    PublicView,
    get_product,
    insert_product,
    insert_products,
    key_of,
    list_products,
    next_code_sequence,
    product_by_code,
    product_of,
    products_by_key,
    public_view,
    save_product,
)
from ocop_registry.store.scope import EVERYTHING, Scope
from ocop_runtime.paging import Conn

__all__ = [
    "APPLICATION_SORTS",
    "CERTIFICATE_STATUS_SQL",
    "EVERYTHING",
    "PRODUCER_SORTS",
    "PRODUCT_SORTS",
    "ApplicationFilter",
    "Conn",
    "ProducerFilter",
    "ProductFilter",
    "PublicView",
    "Scope",
    "all_commune_versions",
    "certificates_of",
    "count_active_products",
    "end_certificate",
    "get_application",
    "get_producer",
    "get_product",
    "insert_application",
    "insert_producer",
    "insert_producers",
    "insert_product",
    "insert_products",
    "key_of",
    "list_applications",
    "list_producers",
    "list_products",
    "list_units",
    "load_admin_units",
    "next_code_sequence",
    "open_application_of",
    "producer_by_registration",
    "producers_by_registration",
    "producers_in_scope",
    "product_by_code",
    "product_of",
    "products_by_key",
    "public_view",
    "record_certificate",
    "save_application",
    "save_producer",
    "save_product",
    "set_current_certificate",
    "unnumbered_producers",
]
