"""Events published by the insights service: snapshots of the programme's statistics.

One record per statistic and scope, keyed ``<statistic>.<scope>`` (for example
``products.by_star.city``), on a log-compacted topic: the latest record of each key is the
statistic now, so a dashboard that reads the topic from the start sees every statistic once.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from ocop_contracts.base import Event
from ocop_contracts.topics import INSIGHTS_STATISTICS


class StatisticRow(BaseModel):
    """One value of the statistic's dimension (a star class, a sector, a district...)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str = Field(description='The dimension value as a code, e.g. "4", "food", "001".')
    label: str | None = Field(default=None, description="Its name in Vietnamese, when known.")
    values: dict[str, int] = Field(
        description='Counts by measure, e.g. {"products": 1098, "producers": 310}.'
    )


class StatisticPublished(
    Event,
    service="insights",
    topic=INSIGHTS_STATISTICS,
    name="StatisticPublished",
    key="statistic_key",
):
    """The current value of one statistic, published after it changed (at most once a
    second per key)."""

    statistic_key: str = Field(
        description="<statistic>.<scope>, e.g. products.by_star.city: the record's key."
    )
    statistic: str = Field(description="e.g. products.by_star")
    scope: str = Field(description='What it covers: "city" for the whole of Hanoi.')
    as_of: date = Field(description="The day the statistic describes.")
    measures: list[str] = Field(description="The keys of every row's values, in order.")
    rows: list[StatisticRow]
    totals: dict[str, int] = Field(default_factory=dict, description="Sum over the rows.")
    computed_at: datetime
