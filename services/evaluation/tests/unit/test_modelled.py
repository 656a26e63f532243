"""What the project modelled without a source is labelled so in the data and the document."""

from __future__ import annotations

from ocop_evaluation import domain
from ocop_evaluation.rulebook_doc import render


def _marks(rulebook_id: str, version: int, product_set: str) -> dict[str, bool]:
    sheet = domain.rulebook(rulebook_id, version).sheet(product_set)
    return {c.id: c.modelled for c in sheet.criteria if c.requirements}


def test_the_4_and_5_star_marks_of_1048_with_781_are_labelled_modelled() -> None:
    marks = _marks("1048", 2, "1048.food.honey")
    assert {cid for cid, modelled in marks.items() if modelled} == {"A3.4", "B1.3", "C2.3", "C3.2"}
    # The 3★ quality declaration and traceability plan come from the sources [YB].
    assert not marks["C2.1"] and not marks["C2.2"]
    tourism = _marks("1048", 2, "1048.tourism.rural")
    assert tourism == {"A3.4": True, "B1.3": True}


def test_the_local_identity_story_at_3_stars_under_148_and_1489_is_labelled_modelled() -> None:
    for rulebook_id in ("148", "1489"):
        marks = _marks(rulebook_id, 1, "food.honey_other")
        assert {cid for cid, modelled in marks.items() if modelled} == {"B2.3"}


def test_the_document_shows_modelled_marks_and_formats() -> None:
    text = render()
    assert "| B2.3 | B |" in text and "3★ (modelled) |" in text
    assert "| certificate_number | evaluation |" in text and "| modelled |" in text
    assert "| public_code | registry |" in text


def test_certificate_numbers_follow_the_documented_format() -> None:
    [number] = [f for f in domain.formats() if f.name == "certificate_number"]
    assert number.modelled
    assert domain.certificate_number(42, 2026) == number.example
