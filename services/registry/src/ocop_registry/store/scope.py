"""Whose rows a caller may see, and the unit filters: both know that a 2025 commune or ward
also covers the old communes merged into it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ocop_runtime.paging import Query


@dataclass(frozen=True)
class Scope:
    """Whose records a caller may see: ``units`` (commune/ward or pre-2025 district codes;
    None: every unit) and ``producer_id`` (a producer's own account). Rows outside the scope
    behave as if they did not exist."""

    units: frozenset[str] | None = None
    producer_id: UUID | None = None

    @property
    def everything(self) -> bool:
        return self.units is None and self.producer_id is None

    def allows_unit(self, commune_code: str, district_code: str | None) -> bool:
        return self.units is None or commune_code in self.units or district_code in self.units


EVERYTHING = Scope()


def scope_clause(q: Query, scope: Scope | None, alias: str, producer_column: str) -> None:
    if scope is None or scope.everything:
        return
    if scope.producer_id is not None:
        q.add(f"{producer_column} = {{}}", scope.producer_id)
    if scope.units is not None:
        units = sorted(scope.units)
        # A 2025 unit also covers the old communes that (wholly or partly) went into it.
        q.add(
            f"({alias}.commune_code = ANY(ARRAY(SELECT unnest({{}}::text[]) UNION"
            " SELECT old_code FROM admin_unit_successions WHERE new_code = ANY({}::text[])))"
            f" OR {alias}.district_code = ANY({{}}::text[]))",
            units,
            units,
            units,
        )


def unit_clause(q: Query, f_commune: str | None, f_district: str | None, alias: str) -> None:
    if f_district is not None:
        q.add(f"{alias}.district_code = {{}}", f_district)
    if f_commune is not None:
        # A 2025 unit also covers the old communes that (wholly or partly) went into it; the
        # codes are computed first so that the commune index can be used.
        q.add(
            f"{alias}.commune_code = ANY(ARRAY(SELECT {{}}::text UNION"
            " SELECT old_code FROM admin_unit_successions WHERE new_code = {}))",
            f_commune,
            f_commune,
        )
