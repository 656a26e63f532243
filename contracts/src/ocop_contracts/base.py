"""The base class of every published event and command; each one registers its ``ce_type``."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ocop_contracts.envelope import ce_type


class Event(BaseModel):
    """A published fact. Subclasses declare where they travel and which field is the Kafka key::

        class ProducerRegistered(Event, service="registry", topic=REGISTRY_PRODUCERS,
                                 name="ProducerRegistered", key="producer_id"): ...

    Models read tolerantly (unknown fields are ignored) so that ``v1`` can gain optional fields.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    SERVICE: ClassVar[str]
    TOPIC: ClassVar[str]
    EVENT_NAME: ClassVar[str]
    VERSION: ClassVar[int]
    KEY_FIELD: ClassVar[str]
    CE_TYPE: ClassVar[str]

    _CONTRACT_KWARGS: ClassVar[frozenset[str]] = frozenset(
        {"service", "topic", "name", "key", "version"}
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The contract keywords are read in __pydantic_init_subclass__, once the fields exist.
        super().__init_subclass__(
            **{k: v for k, v in kwargs.items() if k not in cls._CONTRACT_KWARGS}
        )

    @classmethod
    def __pydantic_init_subclass__(
        cls,
        service: str | None = None,
        topic: str | None = None,
        name: str | None = None,
        key: str | None = None,
        version: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if service is None:  # an intermediate base class, not a published event
            return
        if not (topic and name and key):
            raise TypeError(f"{cls.__qualname__}: an event needs service, topic, name and key")
        if key not in cls.model_fields:
            raise TypeError(f"{cls.__qualname__}: key field {key!r} is not a field")
        cls.SERVICE, cls.TOPIC, cls.EVENT_NAME, cls.VERSION, cls.KEY_FIELD = (
            service,
            topic,
            name,
            version,
            key,
        )
        cls.CE_TYPE = ce_type(service, name, version)
        if cls.CE_TYPE in _CATALOGUE and _CATALOGUE[cls.CE_TYPE] is not cls:
            raise TypeError(f"two contracts claim ce_type {cls.CE_TYPE}")
        _CATALOGUE[cls.CE_TYPE] = cls

    def key(self) -> str:
        """The aggregate id: the Kafka key and ``ce_subject``, keeping one aggregate in order."""
        return str(getattr(self, self.KEY_FIELD))

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def registered() -> dict[str, type[Event]]:
    """The event types defined so far, by ``ce_type``; :mod:`ocop_contracts.catalogue` imports
    every contract module first, so ask it, not this."""
    return dict(_CATALOGUE)


_CATALOGUE: dict[str, type[Event]] = {}
