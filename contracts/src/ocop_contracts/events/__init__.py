"""Every published event, one module per producing service."""

from ocop_contracts.events.registry import LegalForm, ProducerRegistered, ProducerUpdated

__all__ = ["LegalForm", "ProducerRegistered", "ProducerUpdated"]
