"""``python -m ocop_evaluation.rulebook_doc > docs/RULEBOOKS.md``: the rulebooks as a document,
generated from the data so that the two cannot disagree (a test compares them)."""

from __future__ import annotations

import sys
from collections import defaultdict

from ocop_evaluation import domain


def render() -> str:
    out = [
        "# OCOP rulebooks",
        "",
        "Generated from `services/evaluation/data/rulebooks/` by",
        "`python -m ocop_evaluation.rulebook_doc`; sources and what is modelled are in that",
        "folder's `SOURCES.md`. A product's sheet is chosen by its product set and the rulebook",
        'in force on its submission date; "mandatory from" is the lowest star that needs the',
        "criterion (the council's average must be above zero). Star bands: 5★ [90, 100],",
        "4★ [70, 90), 3★ [50, 70), 2★ [30, 50), 1★ below 30; only 3★ and above are certified.",
        "",
        'A mark shown as "(modelled)" was chosen by the project without a source (the 4★ and',
        "5★ minimum items of 1048 as amended by 781, the local-identity story at 3★ under 148);",
        "so are the formats at the end. They are assumptions to verify, not law.",
        "",
    ]
    for rulebook in domain.rulebooks():
        split = ", ".join(f"{p.value} {rulebook.split[p]}" for p in domain.Part)
        out += [
            f"## {rulebook.title} ({rulebook.ref}), in force from {rulebook.in_force_from}",
            "",
            f"Parts: {split}.",
            "",
            "| level | certifies | forwards | nominates |",
            "|---|---|---|---|",
        ]
        for level, rule in rulebook.levels.items():
            certifies = ", ".join(f"{s}★" for s in sorted(rule.certifies)) or "none"
            forwards = (
                f"to {rule.forwards_to.value} from {rule.forwards_from_star}★"
                if rule.forwards_to
                else ""
            )
            nominates = (
                f"to {rule.nominates_to.value} from {rule.nominates_from_star}★"
                if rule.nominates_to
                else ""
            )
            out.append(f"| {level.value} | {certifies} | {forwards} | {nominates} |")
        sets_by_sheet: dict[str, list[str]] = defaultdict(list)
        sheets: dict[str, domain.ScoreSheet] = {}
        for product_set, sheet in rulebook.sheets.items():
            sets_by_sheet[sheet.sheet].append(product_set)
            sheets[sheet.sheet] = sheet
        for name, sheet in sheets.items():
            out += [
                "",
                f"### Sheet `{name}` ({len(sets_by_sheet[name])} sets: "
                + ", ".join(f"`{s}`" for s in sorted(sets_by_sheet[name])[:6])
                + (", …" if len(sets_by_sheet[name]) > 6 else "")
                + ")",
                "",
                "| criterion | part | name | max | mandatory from |",
                "|---|---|---|---|---|",
            ]
            for c in sheet.criteria:
                mandatory = f"{c.mandatory_from}★" if c.mandatory_from else ""
                if c.modelled:
                    mandatory += " (modelled)"
                bonus = " (bonus)" if c.bonus else ""
                out.append(
                    f"| {c.id} | {c.part.value} | {c.name_vi} / {c.name_en}{bonus} |"
                    f" {c.max_points} | {mandatory} |"
                )
        out.append("")
    out += [
        "## Formats",
        "",
        "From `services/evaluation/data/formats.toml`.",
        "",
        "| format | applied by | pattern | example | status |",
        "|---|---|---|---|---|",
    ]
    notes = []
    for f in domain.formats():
        status = "modelled" if f.modelled else "from the sources"
        out.append(f"| {f.name} | {f.owner} | `{f.pattern}` | `{f.example}` | {status} |")
        notes.append(f"- `{f.name}`: {f.note}")
    out += ["", *notes, ""]
    return "\n".join(out)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
