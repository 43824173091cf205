"""The checklist rules against the table of cases the phone app runs too (web/src/shared/rules.test.ts).

One file, tests/fixtures/checklist_rule_cases.json, says what visibility, score, band and missing required
items each template and answers give; the server's rules and the phone's must both agree with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.checklists.rules import evaluate, validate_template

CASES_FILE = Path(__file__).parents[1] / "fixtures" / "checklist_rule_cases.json"
TABLE = json.loads(CASES_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_rules_give_what_the_shared_table_says(case: dict) -> None:
    template = TABLE["templates"][case["template"]]
    result = evaluate(template["items"], template["bands"], case["answers"])
    assert sorted(k for k, shown in result.visible.items() if shown) == case["visible"]
    assert result.score == case["score"]
    assert result.band_key == case["band"]
    assert result.missing_required == case["missing_required"]


@pytest.mark.parametrize("key", sorted(TABLE["templates"]))
def test_the_table_templates_are_valid_templates(key: str) -> None:
    template = TABLE["templates"][key]
    items = [{"options": [], **item} for item in template["items"]]
    assert validate_template(items, template["bands"]) == []


def test_the_table_covers_every_condition_operator_and_band_edge() -> None:
    text = json.dumps(TABLE["templates"])
    for op in ("equals", "not_equals", "in", "contains", "gte", "lte", "answered", "all", "any", "not"):
        assert f'"{op}"' in text
    bands = {c["band"] for c in TABLE["cases"]}
    assert {"low", "mid", "high", None, "normal", "at_risk"} <= bands
