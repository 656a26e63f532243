"""Filters for the common needs of an agency: by event type, by sector or product set, by
administrative unit, composable with ``&``, ``|`` and ``~``.

Every filter answers two questions:

* :meth:`Filter.decides_type` on the ``ce_type`` header alone, before the value is decoded:
  ``True`` (every event of that type passes), ``False`` (none can pass: skip the record without
  parsing it) or ``None`` (it depends on the event);
* :meth:`Filter.matches` on a decoded event.

Only product, application and producer events carry a sector, a product set or a unit; most
others name a product (``product_id``/``product_ids``), a producer or a point of sale. A
:class:`ProductIndex` learns those from the registry's and trade's events (``ProductRegistered``,
``ProductUpdated``, ``ApplicationSubmitted``, ``ProducerRegistered``, ``ProducerUpdated``,
``OutletOpened``) so that a filter can decide an event through the product (or producer, or
outlet) it names; when the index does not know it, the filter's ``unknown`` decides (``False``
by default: skipped). :class:`Selection` puts it together for a consumer loop::

    index = ProductIndex()
    food = Selection(in_sectors("food", index=index) & ~of_types(ProductScored), index)
    for record in consumer:
        event = food.pick(record.headers, record.value)  # None: not for us (or unknown type)
        if event is not None:
            handle(event)

Pure: pydantic and the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocop_contracts.base import Event
from ocop_contracts.catalogue import UnknownEventType, decode_event, event_types
from ocop_contracts.envelope import H_TYPE, TYPE_PREFIX

# Fields an event carries itself, by what they say.
SECTOR_FIELDS = ("sector", "statistics_sector")
SET_FIELDS = ("product_set",)
UNIT_FIELDS = ("commune_code", "district_code", "unit_code", "unit", "units", "units_covered")
# Fields that name something the index may know.
PRODUCT_REFS = ("product_id", "product_ids")
PRODUCER_REFS = ("producer_id", "producer_ids")
OUTLET_REFS = ("outlet_id",)


def _values(event: Event, names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        value = getattr(event, name, None)
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            out.update(str(v) for v in value if v is not None)
        else:
            out.add(str(value))
    return out


def _declares(type_: str, names: Iterable[str]) -> bool:
    cls = event_types().get(type_)
    return cls is not None and any(n in cls.model_fields for n in names)


@dataclass
class _Product:
    producer_id: str
    sectors: frozenset[str]
    product_set: str
    units: frozenset[str]


@dataclass
class ProductIndex:
    """What the registry (and trade, for outlets) said about products, producers and points of
    sale, learnt from their events: read ``ocop.registry.products.v1`` (and the producers,
    applications and listings topics for producer and outlet units) from the beginning with the
    same :class:`Selection`, before or alongside the topics you filter."""

    products: dict[str, _Product] = field(default_factory=dict)
    producers: dict[str, frozenset[str]] = field(default_factory=dict)
    outlets: dict[str, frozenset[str]] = field(default_factory=dict)

    LEARNS_FROM = frozenset(
        f"{TYPE_PREFIX}{t}.v1"
        for t in (
            "registry.ProductRegistered",
            "registry.ProductUpdated",
            "registry.ApplicationSubmitted",
            "registry.ProducerRegistered",
            "registry.ProducerUpdated",
            "trade.OutletOpened",
        )
    )

    def observe(self, event: Event) -> None:
        """Learn from ``event`` when it is one of :attr:`LEARNS_FROM`; ignore it otherwise.
        A later event of a product replaces what an earlier one said."""
        if event.CE_TYPE not in self.LEARNS_FROM:
            return
        units = frozenset(_values(event, UNIT_FIELDS))
        if event.EVENT_NAME in ("ProducerRegistered", "ProducerUpdated"):
            self.producers[str(event.producer_id)] = units  # type: ignore[attr-defined]
        elif event.EVENT_NAME == "OutletOpened":
            self.outlets[str(event.outlet_id)] = units  # type: ignore[attr-defined]
        else:
            self.products[str(event.product_id)] = _Product(  # type: ignore[attr-defined]
                producer_id=str(event.producer_id),  # type: ignore[attr-defined]
                sectors=frozenset(_values(event, SECTOR_FIELDS)),
                product_set=str(event.product_set),  # type: ignore[attr-defined]
                units=units,
            )

    def products_of(self, producer_id: str) -> list[_Product]:
        return [p for p in self.products.values() if p.producer_id == producer_id]

    def to_json(self) -> str:
        """Everything learnt, as JSON: store it with your consumer's offsets to restart
        without reading the registry's topics again."""
        return json.dumps(
            {
                "products": {
                    k: {
                        "producer_id": p.producer_id,
                        "sectors": sorted(p.sectors),
                        "product_set": p.product_set,
                        "units": sorted(p.units),
                    }
                    for k, p in self.products.items()
                },
                "producers": {k: sorted(v) for k, v in self.producers.items()},
                "outlets": {k: sorted(v) for k, v in self.outlets.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ProductIndex:
        data = json.loads(text)
        return cls(
            products={
                k: _Product(
                    producer_id=v["producer_id"],
                    sectors=frozenset(v["sectors"]),
                    product_set=v["product_set"],
                    units=frozenset(v["units"]),
                )
                for k, v in data["products"].items()
            },
            producers={k: frozenset(v) for k, v in data["producers"].items()},
            outlets={k: frozenset(v) for k, v in data["outlets"].items()},
        )


class Filter:
    """A predicate on events; combine with ``&``, ``|`` and ``~``."""

    def decides_type(self, type_: str) -> bool | None:
        raise NotImplementedError

    def matches(self, event: Event) -> bool:
        raise NotImplementedError

    def accepts_type(self, type_: str) -> bool:
        """The cheap pre-filter: ``False`` when no event of ``type_`` can pass."""
        return self.decides_type(type_) is not False

    def __and__(self, other: Filter) -> Filter:
        return _All((self, other))

    def __or__(self, other: Filter) -> Filter:
        return _Any((self, other))

    def __invert__(self) -> Filter:
        return _Not(self)


@dataclass(frozen=True)
class _All(Filter):
    parts: tuple[Filter, ...]

    def decides_type(self, type_: str) -> bool | None:
        answers = [p.decides_type(type_) for p in self.parts]
        if False in answers:
            return False
        return True if all(a is True for a in answers) else None

    def matches(self, event: Event) -> bool:
        return all(p.matches(event) for p in self.parts)


@dataclass(frozen=True)
class _Any(Filter):
    parts: tuple[Filter, ...]

    def decides_type(self, type_: str) -> bool | None:
        answers = [p.decides_type(type_) for p in self.parts]
        if True in answers:
            return True
        return False if all(a is False for a in answers) else None

    def matches(self, event: Event) -> bool:
        return any(p.matches(event) for p in self.parts)


@dataclass(frozen=True)
class _Not(Filter):
    inner: Filter

    def decides_type(self, type_: str) -> bool | None:
        answer = self.inner.decides_type(type_)
        return None if answer is None else not answer

    def matches(self, event: Event) -> bool:
        return not self.inner.matches(event)


@dataclass(frozen=True)
class _Types(Filter):
    types: frozenset[str]
    services: frozenset[str]

    def decides_type(self, type_: str) -> bool:
        if type_ in self.types:
            return True
        rest = type_.removeprefix(TYPE_PREFIX)
        return rest != type_ and rest.split(".", 1)[0] in self.services

    def matches(self, event: Event) -> bool:
        return bool(self.decides_type(event.CE_TYPE))


def of_types(*types: str | type[Event]) -> Filter:
    """Events of these types: contract classes or full ``ce_type`` strings."""
    names = frozenset(t if isinstance(t, str) else t.CE_TYPE for t in types)
    unknown = sorted(n for n in names if not n.startswith(TYPE_PREFIX))
    if unknown:
        raise ValueError(f"not a ce_type: {', '.join(unknown)} (expected {TYPE_PREFIX}...)")
    return _Types(names, frozenset())


def of_services(*services: str) -> Filter:
    """Every event published by these services (``registry``, ``evaluation``, ...)."""
    return _Types(frozenset(), frozenset(services))


@dataclass(frozen=True)
class _Through(Filter):
    """Decides on the event's own fields, else through the product/producer/outlet it names."""

    own_fields: tuple[str, ...]
    wanted: frozenset[str]
    index: ProductIndex | None
    unknown: bool
    through_outlets: bool

    def _of_product(self, p: _Product) -> set[str]:
        raise NotImplementedError

    def _of_producer(self, producer_id: str, index: ProductIndex) -> set[str] | None:
        raise NotImplementedError

    def decides_type(self, type_: str) -> bool | None:
        refs = self.own_fields + PRODUCT_REFS + PRODUCER_REFS
        if self.through_outlets:
            refs += OUTLET_REFS
        return None if _declares(type_, refs) else False

    def matches(self, event: Event) -> bool:
        own = _values(event, self.own_fields)
        if own:
            return bool(own & self.wanted)
        seen: set[str] = set()
        known = False
        index = self.index
        products = _values(event, PRODUCT_REFS)
        producers = _values(event, PRODUCER_REFS)
        outlets = _values(event, OUTLET_REFS) if self.through_outlets else set()
        if index is not None:
            for pid in products:
                if pid in index.products:
                    known = True
                    seen |= self._of_product(index.products[pid])
            if not products:
                for producer_id in producers:
                    values = self._of_producer(producer_id, index)
                    if values is not None:
                        known = True
                        seen |= values
            for oid in outlets:
                if oid in index.outlets:
                    known = True
                    seen |= index.outlets[oid]
        if seen & self.wanted:
            return True
        if not (products or producers or outlets):
            return False  # the event names nothing the filter could decide on
        return False if known else self.unknown


@dataclass(frozen=True)
class _Sectors(_Through):
    sets: bool = False

    def _of_product(self, p: _Product) -> set[str]:
        return {p.product_set} if self.sets else set(p.sectors)

    def _of_producer(self, producer_id: str, index: ProductIndex) -> set[str] | None:
        products = index.products_of(producer_id)
        if not products:
            return None
        return set().union(*(self._of_product(p) for p in products))


@dataclass(frozen=True)
class _Units(_Through):
    def _of_product(self, p: _Product) -> set[str]:
        return set(p.units)

    def _of_producer(self, producer_id: str, index: ProductIndex) -> set[str] | None:
        units = index.producers.get(producer_id)
        return None if units is None else set(units)


def in_sectors(*sectors: str, index: ProductIndex | None = None, unknown: bool = False) -> Filter:
    """Events about products of these sectors (``food``, ``drinks``, ``herbal``,
    ``handicrafts``, ``ornamentals``, ``tourism``; ``sector`` or ``statistics_sector``, so a
    148 sector code matches 1048 products counted under it). A producer event matches when
    the index knows a product of that producer in the sector. Events naming no product or
    producer (promotions, campaigns, statistics) never match."""
    return _Sectors(SECTOR_FIELDS, frozenset(sectors), index, unknown, False)


def in_product_sets(
    *product_sets: str, index: ProductIndex | None = None, unknown: bool = False
) -> Filter:
    """Events about products of these product set codes (e.g. ``food.grain``)."""
    return _Sectors(SET_FIELDS, frozenset(product_sets), index, unknown, False, sets=True)


def in_units(*codes: str, index: ProductIndex | None = None, unknown: bool = False) -> Filter:
    """Events about a place among ``codes``: commune/ward codes (new, from 1 July 2025, or old)
    and pre-2025 district codes alike, matched against the event's own unit fields
    (``commune_code``, ``district_code``, ``unit_code``, ``unit``, ``units``,
    ``units_covered``), else those of the product, producer or point of sale it names (a
    listing matches the outlet's unit or the product's). Codes were reused by the
    reorganisations: to follow a new commune, pass its code and its predecessors' codes."""
    return _Units(UNIT_FIELDS, frozenset(codes), index, unknown, True)


@dataclass
class Selection:
    """A filter applied to raw records: skip on the ``ce_type`` header, decode only what may
    match, feed the index with what it learns from (even records the filter drops)."""

    filter: Filter
    index: ProductIndex | None = None
    decoded: int = 0
    skipped_undecoded: int = 0

    def pick(
        self, headers: Iterable[tuple[str, bytes | None]] | Mapping[str, Any], value: bytes
    ) -> Event | None:
        """The decoded event when it passes, else ``None`` (also for an unknown ``ce_type``).
        Raises :class:`pydantic.ValidationError` for a value that breaks its contract."""
        type_ = _header_type(headers)
        learn = self.index is not None and type_ in ProductIndex.LEARNS_FROM
        decision = self.filter.decides_type(type_)
        if decision is False and not learn:
            self.skipped_undecoded += 1
            return None
        try:
            event = decode_event(type_, value)
        except UnknownEventType:
            return None
        self.decoded += 1
        if learn and self.index is not None:
            self.index.observe(event)
        if decision is True:
            return event
        return event if decision is None and self.filter.matches(event) else None


def _header_type(headers: Iterable[tuple[str, bytes | None]] | Mapping[str, Any]) -> str:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key == H_TYPE and value is not None:
            return value.decode() if isinstance(value, bytes | bytearray) else str(value)
    return ""


__all__ = [
    "Filter",
    "ProductIndex",
    "Selection",
    "in_product_sets",
    "in_sectors",
    "in_units",
    "of_services",
    "of_types",
]
