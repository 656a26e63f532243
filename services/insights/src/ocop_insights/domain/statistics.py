"""The statistics insights offers: names, measures, Vietnamese labels and how they read.

A statistic is a list of rows, one per value of its dimension (a star class, a sector, a unit,
a year...), each with counts by measure. Labels follow Hanoi's reports; numbers are written
with a dot between thousands (``1.649``), as those reports write them.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "data"
SCOPE = "city"  # every statistic covers the whole of Hanoi

STAR_CLASSES = ("3", "4", "potential_5", "5")
STAR_LABELS = {"3": "3 sao", "4": "4 sao", "potential_5": "Tiềm năng 5 sao", "5": "5 sao"}
SECTOR_LABELS = {
    "food": "Thực phẩm",
    "drinks": "Đồ uống",
    "herbal": "Thảo dược",
    "handicrafts": "Thủ công mỹ nghệ",
    "ornamentals": "Sinh vật cảnh",
    "tourism": "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch",
    "1048.food": "Thực phẩm",
    "1048.drinks": "Đồ uống",
    "1048.herbal": "Thảo dược",
    "1048.fabric": "Vải, may mặc",
    "1048.souvenir": "Lưu niệm - nội thất - trang trí",
    "1048.tourism": "Dịch vụ du lịch nông thôn, bán hàng",
}
LEGAL_FORM_LABELS = {
    "enterprise": "Doanh nghiệp",
    "cooperative": "Hợp tác xã",
    "cooperative_group": "Tổ hợp tác",
    "household_business": "Hộ sản xuất, kinh doanh",
}
RECOGNITION_LABELS = {
    "cumulative": "Lũy kế được công nhận",
    "valid": "Còn hiệu lực",
}
EXPIRY_WINDOWS = (30, 90, 180)
LEVEL_LABELS = {
    "commune": "Cấp xã",
    "district": "Cấp huyện",
    "city": "Cấp thành phố",
    "central": "Cấp trung ương",
}
UNKNOWN = "unknown"
UNKNOWN_LABEL = "Chưa rõ"
LOCATION_LABELS = {
    "transport_hub": "Đầu mối giao thông",
    "highway_stop": "Trạm dừng nghỉ",
    "mall_market": "Trung tâm thương mại, chợ",
    "tourist_site_hotel": "Điểm du lịch, khách sạn",
    "craft_village": "Làng nghề",
    "commercial_centre": "Trung tâm thương mại",
    "fair_centre": "Trung tâm hội chợ",
    "post_office": "Bưu điện",
}
FINDING_LABELS = {
    "packaging": "Bao bì",
    "label": "Nhãn, tem OCOP",
    "ip_certificate": "Sở hữu trí tuệ",
    "environment": "Môi trường",
    "food_safety": "An toàn thực phẩm",
    "traceability": "Truy xuất nguồn gốc",
    "dossier": "Hồ sơ",
    "process_not_followed": "Không đúng quy trình",
    "quality_mismatch": "Chất lượng không như công nhận",
    "other": "Khác",
}


@functools.cache
def _csv_labels(name: str) -> dict[str, str]:
    path = DATA / name
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def unit_label(key: str) -> str | None:
    """``district:001`` -> "Ba Đình (cũ)" (pre-2025 district), ``commune:00004`` -> "Ba Đình",
    ``old_commune:00004`` -> "Trúc Bạch (cũ)" (an old commune with no known successor)."""
    tier, _, code = key.partition(":")
    table = {"district": "districts_2019.csv", "old_commune": "communes_pre2025.csv"}.get(
        tier, "communes_2025.csv"
    )
    name = _csv_labels(table).get(code)
    if name is None:
        return None
    return name if tier == "commune" else f"{name} (cũ)"


def set_label(key: str) -> str | None:
    return _csv_labels("product_sets.csv").get(key)


def _from(table: Mapping[str, str]) -> Callable[[str], str | None]:
    return table.get


def _window_label(key: str) -> str:
    return f"Trong {key} ngày"


def _year_label(key: str) -> str:
    return f"Giai đoạn {key}" if "-" in key else f"Năm {key}"


@dataclass(frozen=True)
class Definition:
    """One statistic: its name, title, what its rows count and how a row is labelled."""

    name: str
    title: str
    description: str
    measures: tuple[str, ...]
    label: Callable[[str], str | None] = field(default=lambda _key: None)
    order: Sequence[str] = ()  # the rows always shown, in this order (others follow, sorted)

    @property
    def key(self) -> str:
        return f"{self.name}.{SCOPE}"


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "products.by_star",
        "Sản phẩm OCOP theo hạng sao",
        "Products holding a live certificate on the day, by star class (a city 4-star"
        " nominated to the central council counts as potential 5-star), and their producers.",
        ("products", "producers"),
        _from(STAR_LABELS),
        STAR_CLASSES,
    ),
    Definition(
        "products.by_sector",
        "Sản phẩm OCOP theo ngành (148/QĐ-TTg)",
        "Products with a live certificate by the 148 sector they are counted under.",
        ("products", "3", "4", "potential_5", "5"),
        _from(SECTOR_LABELS),
    ),
    Definition(
        "products.by_sector_1048",
        "Sản phẩm OCOP theo ngành (1048/QĐ-TTg)",
        "Products of the legacy 1048 classification with a live certificate, by 1048 sector.",
        ("products", "3", "4", "potential_5", "5"),
        _from(SECTOR_LABELS),
    ),
    Definition(
        "products.by_set",
        "Sản phẩm OCOP theo bộ sản phẩm",
        "Products with a live certificate by product set (148 or 1048).",
        ("products",),
        set_label,
    ),
    Definition(
        "products.by_legal_form",
        "Sản phẩm OCOP theo loại hình chủ thể",
        "Products with a live certificate by their producer's legal form, and the producers.",
        ("products", "producers"),
        _from(LEGAL_FORM_LABELS),
        tuple(LEGAL_FORM_LABELS),
    ),
    Definition(
        "products.by_unit",
        "Sản phẩm OCOP theo đơn vị hành chính",
        "Products with a live certificate by the unit where they are made on the day: the old"
        " district before 1 Jul 2025, the commune or ward from then on.",
        ("products", "3", "4", "potential_5", "5"),
        unit_label,
    ),
    Definition(
        "products.recognition",
        "Sản phẩm được công nhận: lũy kế và còn hiệu lực",
        "Products ever certified up to the day, and those whose certificate is still valid.",
        ("products",),
        _from(RECOGNITION_LABELS),
        tuple(RECOGNITION_LABELS),
    ),
    Definition(
        "certificates.by_year",
        "Công nhận theo năm",
        "Certificates decided each year by star, and the products certified for the first time.",
        ("certificates", "3", "4", "5", "new_products"),
        _year_label,
    ),
    Definition(
        "certificates.expiring",
        "Giấy chứng nhận sắp hết hạn",
        "Live certificates whose validity ends within 30, 90 and 180 days of the day.",
        ("certificates",),
        _window_label,
        tuple(str(d) for d in EXPIRY_WINDOWS),
    ),
    Definition(
        "rounds.by_year",
        "Kỳ đánh giá theo năm",
        "Applications registered for each year's round, evaluated, and certificates decided that"
        " year by the level of the council.",
        ("registered", "evaluated", "certified_district", "certified_city", "certified_central"),
        _year_label,
    ),
    Definition(
        "producers.by_legal_form",
        "Chủ thể theo loại hình",
        "Producers registered on the day by legal form, and those with a live certificate.",
        ("producers", "certified"),
        _from(LEGAL_FORM_LABELS),
        tuple(LEGAL_FORM_LABELS),
    ),
    Definition(
        "trade.outlets",
        "Điểm giới thiệu và bán sản phẩm OCOP",
        "Points of sale open on the day by kind of location, and the goods listed there.",
        ("open", "listings"),
        _from(LOCATION_LABELS),
    ),
    Definition(
        "trade.promotions",
        "Xúc tiến thương mại theo năm",
        "Promotion events (not cancelled) by the year they start, those reported, and the"
        " producers, sales (million VND) and contracts reported.",
        ("events", "reported", "producers", "sales_million_vnd", "contracts"),
        _year_label,
    ),
    Definition(
        "inspection.findings",
        "Kết quả kiểm tra theo nội dung",
        "Findings that needed action (all but compliant), by category of the checklist, with"
        " the producers concerned and the major or critical ones.",
        ("findings", "producers", "serious"),
        _from(FINDING_LABELS),
    ),
    Definition(
        "inspection.campaigns",
        "Đợt kiểm tra theo năm",
        "Inspection campaigns by year: planned producers, producers and products inspected.",
        ("campaigns", "target_producers", "producers_inspected", "products_inspected"),
        _year_label,
    ),
    Definition(
        "plan.by_year",
        "Kế hoạch và thực hiện",
        "Products certified for the first time each year against the yearly target, and over"
        " the plan's period (2021-2025) against its total.",
        ("target", "actual"),
        _year_label,
    ),
)
BY_NAME: dict[str, Definition] = {d.name: d for d in DEFINITIONS}


def definition(name: str) -> Definition:
    return BY_NAME[name]


@dataclass(frozen=True)
class Row:
    key: str
    label: str | None
    values: dict[str, int]


@dataclass(frozen=True)
class Statistic:
    definition: Definition
    as_of: date
    rows: tuple[Row, ...]
    totals: dict[str, int]

    def content(self) -> list[tuple[str, list[int]]]:
        """What the statistic says, without when it was computed (to notice a change)."""
        return [(r.key, [r.values[m] for m in self.definition.measures]) for r in self.rows]


def assemble(
    definition: Definition,
    as_of: date,
    counts: Mapping[str, Mapping[str, int]],
    totals: Mapping[str, int] | None = None,
) -> Statistic:
    """Rows from counts by dimension key: every measure present (0 when absent), the fixed
    rows first in their order, the others sorted by key; totals summed unless given (a
    distinct count such as producers is not the sum of its rows)."""
    keys = [k for k in definition.order] + sorted(k for k in counts if k not in definition.order)
    rows = tuple(
        Row(
            key,
            UNKNOWN_LABEL if key == UNKNOWN else definition.label(key),
            {m: int(counts.get(key, {}).get(m, 0)) for m in definition.measures},
        )
        for key in keys
    )
    summed = {m: sum(r.values[m] for r in rows) for m in definition.measures}
    return Statistic(definition, as_of, rows, {**summed, **(totals or {})})


def thousands(n: int) -> str:
    """A count as Hanoi's reports write it: 1.649, 12.000."""
    return f"{n:,}".replace(",", ".")
