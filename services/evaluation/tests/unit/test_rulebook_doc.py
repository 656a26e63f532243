"""docs/RULEBOOKS.md is generated from the rulebook data and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from ocop_evaluation.rulebook_doc import render

DOC = Path(__file__).resolve().parents[4] / "docs" / "RULEBOOKS.md"


def test_the_rulebook_document_is_what_the_data_says() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m ocop_evaluation.rulebook_doc > docs/RULEBOOKS.md"
    )


def test_the_document_lists_every_criterion_with_its_maximum_and_mandatory_star() -> None:
    text = render()
    assert "| C2.1 | C |" in text and "mandatory from" in text
    assert "## 148/QĐ-TTg (148 v1), in force from 2023-02-24" in text
