"""Checking a district's CSV list in memory, before anything is written."""

from __future__ import annotations

from datetime import date

import pytest

from ocop_registry.domain import LegalForm, UnitVersion
from ocop_registry.imports import COLUMNS, LEGAL_FORMS, ImportRefused, parse, plan

TODAY = date(2025, 9, 1)
HEADER = ",".join(COLUMNS)
# 00004 was Trúc Bạch (district 001, Ba Đình) until the reorganisation, then the code was
# reused for the new Ba Đình ward. 00013 (Vĩnh Phúc) was absorbed; 10105 is a 2025-only code.
TRUC_BACH = UnitVersion("00004", "Trúc Bạch", date(2019, 1, 1), date(2025, 6, 30), (), "001")
BA_DINH = UnitVersion("00004", "Ba Đình", date(2025, 7, 1), None)
VINH_PHUC = UnitVersion(
    "00013", "Vĩnh Phúc", date(2019, 1, 1), date(2025, 6, 30), ("00004", "00025"), "001"
)
QUANG_BI = UnitVersion("10105", "Quảng Bị", date(2025, 7, 1), None)
COMMUNES = {"00004": [TRUC_BACH, BA_DINH], "00013": [VINH_PHUC], "10105": [QUANG_BI]}


def _row(**values: str) -> dict[str, str]:
    row = {
        "commune_code": "00004",
        "producer_name": "HTX Nông nghiệp Trúc Bạch",
        "legal_form": "HTX",
        "registration_number": "0101234567",
        "producer_address": "",
        "product_name": "Gạo nếp cái hoa vàng",
        "product_set": "food.grain",
        "registered_on": "2024-05-31",
    }
    return row | values


def _errors(*rows: dict[str, str]) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in plan(list(rows), COMMUNES, TODAY).errors]


def _only_error(row: dict[str, str]) -> tuple[str, str]:
    checked = plan([row], COMMUNES, TODAY)
    assert checked.rows == []
    (error,) = checked.errors
    assert error.row == 2
    return error.field, error.reason


# Reading the file


def test_a_file_without_a_required_column_is_refused_naming_it() -> None:
    header = ",".join(c for c in COLUMNS if c not in ("product_set", "legal_form"))

    with pytest.raises(ImportRefused, match="legal_form, product_set"):
        parse(header + "\n")


def test_optional_columns_may_be_left_out() -> None:
    text = (
        "commune_code,producer_name,legal_form,product_name,product_set\n"
        "00004,HTX Trúc Bạch,HTX,Gạo tám,food.grain\n"
    )

    (row,) = parse(text)

    assert row["product_name"] == "Gạo tám"
    assert "registered_on" not in row


def test_headers_are_read_regardless_of_case_spaces_and_a_byte_order_mark() -> None:
    text = "\ufeff" + ",".join(f" {c.upper()} " for c in COLUMNS) + "\n"
    text += "00004, HTX Trúc Bạch ,HTX,0101234567,,Gạo tám,food.grain,2024-05-31\n"

    (row,) = parse(text)

    assert row["commune_code"] == "00004"
    assert row["producer_name"] == "HTX Trúc Bạch"
    assert row["registered_on"] == "2024-05-31"


def test_a_parsed_file_is_checked_row_by_row() -> None:
    text = HEADER + "\n00004,HTX Trúc Bạch,HTX,0101234567,,Gạo tám,food.grain,2024-05-31\n"

    checked = plan(parse(text), COMMUNES, TODAY)

    assert checked.errors == []
    (row,) = checked.rows
    assert (row.number, row.product_name, row.unit) == (2, "Gạo tám", TRUC_BACH)


# Legal forms


@pytest.mark.parametrize(
    ("given", "number", "form"),
    [
        ("DN", "0101234567", LegalForm.ENTERPRISE),
        ("dn", "0101234567", LegalForm.ENTERPRISE),
        ("Doanh nghiệp", "0101234567", LegalForm.ENTERPRISE),
        ("HTX", "0101234567", LegalForm.COOPERATIVE),
        ("THT", "", LegalForm.COOPERATIVE_GROUP),
        ("HKD", "01A8012345", LegalForm.HOUSEHOLD_BUSINESS),
        ("Hộ kinh doanh", "01A8012345", LegalForm.HOUSEHOLD_BUSINESS),
        ("household_business", "01A8012345", LegalForm.HOUSEHOLD_BUSINESS),
    ],
)
def test_the_districts_legal_form_abbreviations_are_accepted(
    given: str, number: str, form: LegalForm
) -> None:
    checked = plan([_row(legal_form=given, registration_number=number)], COMMUNES, TODAY)

    assert checked.errors == []
    assert checked.rows[0].producer.legal_form is form


def test_every_legal_form_has_an_abbreviation() -> None:
    for abbreviation, form in {
        "dn": LegalForm.ENTERPRISE,
        "htx": LegalForm.COOPERATIVE,
        "tht": LegalForm.COOPERATIVE_GROUP,
        "hkd": LegalForm.HOUSEHOLD_BUSINESS,
    }.items():
        assert LEGAL_FORMS[abbreviation] is form


def test_an_unknown_legal_form_is_an_error_on_its_row() -> None:
    field, reason = _only_error(_row(legal_form="Công ty"))

    assert field == "legal_form"
    assert "DN, HTX, THT, HKD" in reason


# Per-row errors


def test_an_unknown_commune_is_an_error_on_its_row() -> None:
    field, reason = _only_error(_row(commune_code="99999"))

    assert field == "commune_code"
    assert "not a known" in reason


def test_a_commune_not_valid_on_the_rows_date_is_an_error_naming_its_successors() -> None:
    field, reason = _only_error(_row(commune_code="00013", registered_on="2025-08-01"))

    assert field == "commune_code"
    assert "2025-08-01" in reason
    assert "00004, 00025" in reason


def test_a_2025_commune_is_an_error_on_a_row_dated_before_it_existed() -> None:
    field, _ = _only_error(_row(commune_code="10105", registered_on="2024-05-31"))

    assert field == "commune_code"


def test_a_reused_commune_code_resolves_to_the_version_valid_on_the_rows_date() -> None:
    before = _row(registered_on="2025-06-30", product_name="Gạo tám")
    after = _row(registered_on="2025-07-01", product_name="Gạo nếp")

    checked = plan([before, after], COMMUNES, TODAY)

    assert checked.errors == []
    assert [(r.unit, r.unit.district_code) for r in checked.rows] == [
        (TRUC_BACH, "001"),
        (BA_DINH, None),
    ]


def test_an_unknown_product_set_is_an_error_on_its_row() -> None:
    field, reason = _only_error(_row(product_set="food.nonsense"))

    assert field == "product_set"
    assert "food.nonsense" in reason


def test_a_1048_product_set_on_a_2024_row_is_an_error() -> None:
    field, reason = _only_error(_row(product_set="1048.food.grain"))

    assert field == "product_set"
    assert "1048" in reason


def test_a_row_dated_before_2023_is_classified_under_1048() -> None:
    checked = plan(
        [_row(product_set="1048.food.grain", registered_on="2022-10-01")], COMMUNES, TODAY
    )

    assert checked.errors == []
    assert checked.rows[0].product_set.code == "1048.food.grain"


@pytest.mark.parametrize(
    ("legal_form", "number"),
    [("DN", "12345"), ("HTX", "01012345678"), ("DN", ""), ("HKD", ""), ("HKD", "A B")],
)
def test_a_bad_or_missing_registration_number_is_an_error_on_its_row(
    legal_form: str, number: str
) -> None:
    field, _ = _only_error(_row(legal_form=legal_form, registration_number=number))

    assert field == "registration_number"


@pytest.mark.parametrize("day", ["2025-09-02", "2030-01-01"])
def test_a_date_in_the_future_is_an_error_on_its_row(day: str) -> None:
    field, reason = _only_error(_row(registered_on=day))

    assert field == "registered_on"
    assert "future" in reason


@pytest.mark.parametrize("day", ["31/05/2024", "2024-02-30", "yesterday"])
def test_a_date_that_is_not_iso_is_an_error_on_its_row(day: str) -> None:
    field, _ = _only_error(_row(registered_on=day))

    assert field == "registered_on"


def test_a_date_before_the_programme_is_an_error_on_its_row() -> None:
    field, _ = _only_error(_row(registered_on="2018-05-06"))

    assert field == "registered_on"


@pytest.mark.parametrize("column", ["producer_name", "product_name"])
def test_a_blank_name_is_an_error_on_its_row(column: str) -> None:
    field, _ = _only_error(_row(**{column: "  "}))

    assert field == column


def test_a_row_without_a_date_is_registered_today_in_the_commune_valid_today() -> None:
    checked = plan([_row(registered_on="")], COMMUNES, TODAY)

    (row,) = checked.rows
    assert (row.registered_on, row.unit) == (TODAY, BA_DINH)


# Rows checked against each other


def test_a_registration_number_reused_with_another_name_is_an_error_on_the_later_row() -> None:
    first = _row(product_name="Gạo tám")
    renamed = _row(producer_name="HTX Dịch vụ Nông nghiệp Khác", product_name="Gạo nếp")

    checked = plan([first, renamed], COMMUNES, TODAY)

    assert [r.number for r in checked.rows] == [2]
    assert [(e.row, e.field) for e in checked.errors] == [(3, "producer_name")]


def test_the_same_producer_on_several_rows_is_accepted() -> None:
    rows = [_row(product_name="Gạo tám"), _row(product_name="Gạo nếp"), _row(product_name="Bún")]

    checked = plan(rows, COMMUNES, TODAY)

    assert checked.errors == []
    assert len({r.producer for r in checked.rows}) == 1


def test_a_duplicate_product_row_is_an_error_on_the_later_row() -> None:
    rows = [_row(), _row(), _row(product_name="GẠO NẾP CÁI HOA VÀNG")]

    assert _errors(*rows) == [(3, "product_name"), (4, "product_name")]


def test_the_same_product_name_of_different_producers_is_not_a_duplicate() -> None:
    rows = [
        _row(),
        _row(producer_name="HTX Khác", registration_number="0109999999"),
        _row(legal_form="THT", producer_name="Tổ hợp tác Lúa", registration_number=""),
    ]

    assert _errors(*rows) == []


def test_cooperative_groups_without_numbers_are_told_apart_by_name() -> None:
    rows = [
        _row(legal_form="THT", producer_name="Tổ hợp tác Lúa", registration_number=""),
        _row(legal_form="THT", producer_name="Tổ hợp tác Sen", registration_number=""),
    ]

    checked = plan(rows, COMMUNES, TODAY)

    assert checked.errors == []
    assert [r.producer.name for r in checked.rows] == ["Tổ hợp tác Lúa", "Tổ hợp tác Sen"]


def test_valid_rows_are_kept_alongside_the_errors_of_the_others() -> None:
    rows = [
        _row(product_name="Gạo tám"),
        _row(commune_code="99999", product_name="Gạo nếp"),
        _row(
            commune_code="10105",
            registered_on="2025-08-01",
            producer_name="HTX Quảng Bị",
            registration_number="0108888888",
            product_name="Miến dong",
        ),
        _row(product_set="food.nonsense", product_name="Bún"),
        _row(registered_on="2026-01-01", product_name="Phở"),
        _row(product_name="Chè Shan", product_set="food.tea"),
    ]

    checked = plan(rows, COMMUNES, TODAY)

    assert [r.number for r in checked.rows] == [2, 4, 7]
    assert [r.product_name for r in checked.rows] == ["Gạo tám", "Miến dong", "Chè Shan"]
    assert [(e.row, e.field) for e in checked.errors] == [
        (3, "commune_code"),
        (5, "product_set"),
        (6, "registered_on"),
    ]


def test_a_rejected_row_does_not_claim_its_producer_for_later_rows() -> None:
    rows = [
        _row(producer_name="HTX Tên Sai", product_set="food.nonsense"),
        _row(product_name="Gạo tám"),
    ]

    checked = plan(rows, COMMUNES, TODAY)

    assert [r.number for r in checked.rows] == [3]
    assert [(e.row, e.field) for e in checked.errors] == [(2, "product_set")]
