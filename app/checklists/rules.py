"""The pure rules of checklists: the visibility-condition grammar, answer types, scoring and bands.

Nothing here touches the database, so the same rules run in REST requests, in sync pushes and in tests.

Visibility conditions (``visible_if``)
======================================

An item without ``visible_if`` is always shown. Otherwise ``visible_if`` is one condition::

    condition := {"item": K, "equals": V}        the answer of K is V
               | {"item": K, "not_equals": V}    K is answered and its answer is not V
               | {"item": K, "in": [V, …]}       the answer is one of the values (multi-choice: any chosen is)
               | {"item": K, "contains": V}      multi-choice K has V among its chosen options
               | {"item": K, "gte": N}           number K ≥ N   (``gte`` and ``lte`` may be combined)
               | {"item": K, "lte": N}           number K ≤ N
               | {"item": K, "answered": B}      K has (true) / has no (false) answer
               | {"all": [condition, …]}         every one holds (1–20 conditions)
               | {"any": [condition, …]}         at least one holds (1–20 conditions)
               | {"not": condition}              the condition does not hold

Rules checked when a draft is saved:

* ``K`` names an item **earlier** in the template (so there are no cycles and no self references);
* the operator fits the referenced item's type: ``equals``/``not_equals``/``in`` for boolean, single-choice
  and number items (values of the item's type; option values that exist), ``contains`` and ``in`` for
  multi-choice, ``gte``/``lte`` for number, ``answered`` for any type;
* nesting is at most 5 deep.

Evaluation: an item that is hidden counts as unanswered for the items after it. Every comparison on an
unanswered item is false (``answered: false`` is true); ``not`` inverts whatever its condition gives.

Scores and bands
================

Only visible, answered items count. A boolean adds its ``weight`` when the answer is true; a single-choice
adds the weight of the chosen option; a multi-choice adds the weights of all chosen options. A template
with no weights has no score. The band is the first band with ``min <= score`` and (no ``max`` or
``score <= max``); bands are listed in ascending, non-overlapping order.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

MAX_DEPTH = 5
MAX_BRANCHES = 20
MAX_TEXT = 4000
MAX_PHOTOS = 20
COMPARISON_OPS = ("equals", "not_equals", "in", "contains", "gte", "lte", "answered")
CHOICE_TYPES = ("single_choice", "multi_choice")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class FieldError:
    field: str
    code: str
    message_key: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_answered(value: Any) -> bool:
    return value is not None and value != "" and value != []


# --- templates -------------------------------------------------------------------------------------------


def _value_fits(item: dict[str, Any], value: Any) -> bool:
    kind = item["type"]
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in CHOICE_TYPES:
        return isinstance(value, str) and value in {o["value"] for o in item.get("options", [])}
    if kind == "number":
        return _is_number(value)
    return False


def validate_condition(cond: Any, earlier: dict[str, dict[str, Any]], path: str, depth: int = 1) -> list[FieldError]:
    """Errors of one ``visible_if`` condition; ``earlier`` holds the items before the one it belongs to."""
    if depth > MAX_DEPTH:
        return [FieldError(path, "condition_too_deep", "checklists.condition-too-deep", {"max": MAX_DEPTH})]
    if not isinstance(cond, dict) or not cond:
        return [FieldError(path, "condition_invalid", "checklists.condition-invalid")]
    combinators = [k for k in ("all", "any", "not") if k in cond]
    if combinators:
        if len(cond) != 1:
            return [FieldError(path, "condition_invalid", "checklists.condition-invalid")]
        op = combinators[0]
        if op == "not":
            return validate_condition(cond["not"], earlier, f"{path}.not", depth + 1)
        branches = cond[op]
        if not isinstance(branches, list) or not 1 <= len(branches) <= MAX_BRANCHES:
            return [
                FieldError(f"{path}.{op}", "condition_invalid", "checklists.condition-branches", {"max": MAX_BRANCHES})
            ]
        errors: list[FieldError] = []
        for i, branch in enumerate(branches):
            errors += validate_condition(branch, earlier, f"{path}.{op}.{i}", depth + 1)
        return errors
    ref = cond.get("item")
    ops = [k for k in cond if k != "item"]
    if not isinstance(ref, str) or not ops or any(op not in COMPARISON_OPS for op in ops):
        return [FieldError(path, "condition_invalid", "checklists.condition-invalid")]
    if ref not in earlier:
        return [
            FieldError(f"{path}.item", "condition_unknown_item", "checklists.condition-unknown-item", {"item": ref})
        ]
    target = earlier[ref]
    kind = target["type"]
    if len(ops) > 1 and set(ops) != {"gte", "lte"}:
        return [FieldError(path, "condition_invalid", "checklists.condition-invalid")]
    errors = []
    for op in ops:
        value = cond[op]
        ok = True
        if op == "answered":
            ok = isinstance(value, bool)
        elif op in ("equals", "not_equals"):
            ok = kind in ("boolean", "single_choice", "number") and _value_fits(target, value)
        elif op == "in":
            probe = {**target, "type": "single_choice"} if kind == "multi_choice" else target
            ok = (
                kind in ("boolean", "single_choice", "multi_choice", "number")
                and isinstance(value, list)
                and 1 <= len(value) <= 50
                and all(_value_fits(probe, v) for v in value)
            )
        elif op == "contains":
            ok = kind == "multi_choice" and _value_fits({**target, "type": "single_choice"}, value)
        elif op in ("gte", "lte"):
            ok = kind == "number" and _is_number(value)
        if not ok:
            errors.append(
                FieldError(
                    f"{path}.{op}",
                    "condition_type",
                    "checklists.condition-type",
                    {"op": op, "item": ref, "type": kind},
                )
            )
    return errors


def validate_template(
    items: list[dict[str, Any]], bands: list[dict[str, Any]], prefix: str = "body"
) -> list[FieldError]:
    """Domain errors of a template's items and bands (shapes were checked by the schemas)."""
    errors: list[FieldError] = []
    seen: dict[str, dict[str, Any]] = {}
    scored = False
    for i, item in enumerate(items):
        path = f"{prefix}.items.{i}"
        key, kind = item["key"], item["type"]
        if key in seen:
            errors.append(FieldError(f"{path}.key", "duplicate", "checklists.duplicate-item", {"item": key}))
        options = item.get("options") or []
        values = [o["value"] for o in options]
        if kind in CHOICE_TYPES:
            if len(options) < 2:
                errors.append(FieldError(f"{path}.options", "options_required", "checklists.options-required"))
            if len(set(values)) != len(values):
                errors.append(FieldError(f"{path}.options", "duplicate", "checklists.duplicate-option"))
        elif options:
            errors.append(FieldError(f"{path}.options", "options_forbidden", "checklists.options-forbidden"))
        weight = item.get("weight")
        if weight is not None:
            scored = True
            if kind == "boolean":
                if not _is_number(weight):
                    errors.append(FieldError(f"{path}.weight", "weight_type", "checklists.weight-boolean"))
            elif kind in CHOICE_TYPES:
                fits = isinstance(weight, dict) and set(weight) <= set(values)
                if not fits or not all(_is_number(w) for w in weight.values()):
                    errors.append(FieldError(f"{path}.weight", "weight_type", "checklists.weight-choice"))
            else:
                errors.append(FieldError(f"{path}.weight", "weight_type", "checklists.weight-unscored", {"type": kind}))
        for bound in ("min", "max", "unit"):
            if item.get(bound) is not None and kind != "number":
                errors.append(FieldError(f"{path}.{bound}", "number_only", "checklists.number-only"))
        low, high = item.get("min"), item.get("max")
        if kind == "number" and low is not None and high is not None and low > high:
            errors.append(FieldError(f"{path}.max", "range", "checklists.range"))
        if item.get("visible_if") is not None:
            errors += validate_condition(item["visible_if"], seen, f"{path}.visible_if")
        if key not in seen:
            seen[key] = item
    band_keys: set[str] = set()
    previous: dict[str, Any] | None = None
    for i, band in enumerate(bands):
        path = f"{prefix}.bands.{i}"
        if band["band"] in band_keys:
            errors.append(FieldError(f"{path}.band", "duplicate", "checklists.duplicate-band", {"band": band["band"]}))
        band_keys.add(band["band"])
        if band.get("max") is not None and band["max"] < band["min"]:
            errors.append(FieldError(f"{path}.max", "range", "checklists.range"))
        if previous is not None and (previous.get("max") is None or previous["max"] >= band["min"]):
            errors.append(FieldError(f"{path}.min", "bands_overlap", "checklists.bands-overlap"))
        previous = band
    if bands and not scored:
        errors.append(FieldError(f"{prefix}.bands", "bands_unscored", "checklists.bands-unscored"))
    return errors


# --- answers ---------------------------------------------------------------------------------------------


def validate_value(item: dict[str, Any], value: Any) -> tuple[str, str, dict[str, Any]] | None:
    """``None`` when ``value`` fits the item, else (code, message key, params). ``None`` values clear."""
    if value is None:
        return None
    kind = item["type"]
    options = {o["value"] for o in item.get("options", [])}
    if kind == "boolean":
        if not isinstance(value, bool):
            return ("bool_type", "checklists.value-boolean", {})
    elif kind == "single_choice":
        if not isinstance(value, str) or value not in options:
            return ("option_unknown", "checklists.value-option", {"options": ", ".join(sorted(options))})
    elif kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in options for v in value):
            return ("option_unknown", "checklists.value-option", {"options": ", ".join(sorted(options))})
        if len(set(value)) != len(value):
            return ("duplicate", "checklists.value-duplicate", {})
    elif kind == "number":
        if not _is_number(value):
            return ("number_type", "checklists.value-number", {})
        if item.get("min") is not None and value < item["min"]:
            return ("greater_than_equal", "checklists.value-min", {"min": item["min"]})
        if item.get("max") is not None and value > item["max"]:
            return ("less_than_equal", "checklists.value-max", {"max": item["max"]})
    elif kind == "text":
        if not isinstance(value, str):
            return ("string_type", "checklists.value-text", {})
        if len(value) > MAX_TEXT:
            return ("string_too_long", "checklists.value-text-long", {"max": MAX_TEXT})
    elif kind == "date":
        ok = isinstance(value, str) and bool(_DATE.match(value))
        if ok:
            try:
                date.fromisoformat(value)
            except ValueError:
                ok = False
        if not ok:
            return ("date_type", "checklists.value-date", {})
    elif kind == "photo":
        ids = value if isinstance(value, list) else [value]
        if not ids or len(ids) > MAX_PHOTOS or not all(_is_uuid(v) for v in ids):
            return ("photo_type", "checklists.value-photo", {"max": MAX_PHOTOS})
    return None


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- visibility and scoring ------------------------------------------------------------------------------


def evaluate_condition(cond: dict[str, Any], effective: dict[str, Any]) -> bool:
    """``effective`` holds the answers of visible, answered items only."""
    if "all" in cond:
        return all(evaluate_condition(c, effective) for c in cond["all"])
    if "any" in cond:
        return any(evaluate_condition(c, effective) for c in cond["any"])
    if "not" in cond:
        return not evaluate_condition(cond["not"], effective)
    key = cond["item"]
    answered = key in effective
    if "answered" in cond:
        return answered == bool(cond["answered"])
    if not answered:
        return False
    value = effective[key]
    if "equals" in cond:
        return _same(value, cond["equals"])
    if "not_equals" in cond:
        return not _same(value, cond["not_equals"])
    if "in" in cond:
        wanted = cond["in"]
        if isinstance(value, list):
            return any(any(_same(v, w) for w in wanted) for v in value)
        return any(_same(value, w) for w in wanted)
    if "contains" in cond:
        return isinstance(value, list) and cond["contains"] in value
    ok = True
    if "gte" in cond:
        ok = ok and _is_number(value) and value >= cond["gte"]
    if "lte" in cond:
        ok = ok and _is_number(value) and value <= cond["lte"]
    return ok


def _same(a: Any, b: Any) -> bool:
    # JSON has no int/bool distinction problems in our data, but Python's True == 1 does.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


@dataclass
class Evaluation:
    visible: dict[str, bool]
    score: float | None
    band: dict[str, Any] | None
    missing_required: list[str]

    @property
    def band_key(self) -> str | None:
        return self.band["band"] if self.band else None

    @property
    def risk_level(self) -> str | None:
        return self.band.get("risk_level") if self.band else None


def contribution(item: dict[str, Any], value: Any) -> float:
    weight = item.get("weight")
    if weight is None or not is_answered(value):
        return 0.0
    kind = item["type"]
    if kind == "boolean":
        return float(weight) if value is True else 0.0
    if kind == "single_choice" and isinstance(weight, dict):
        return float(weight.get(value, 0))
    if kind == "multi_choice" and isinstance(weight, dict) and isinstance(value, list):
        return float(sum(weight.get(v, 0) for v in value))
    return 0.0


def evaluate(items: list[dict[str, Any]], bands: list[dict[str, Any]], values: dict[str, Any]) -> Evaluation:
    """Visibility, score, band and missing required items for ``values`` ({item key: value})."""
    visible: dict[str, bool] = {}
    effective: dict[str, Any] = {}
    scored = any(item.get("weight") is not None for item in items)
    total = 0.0
    missing: list[str] = []
    for item in items:
        key = item["key"]
        cond = item.get("visible_if")
        shown = True if cond is None else evaluate_condition(cond, effective)
        visible[key] = shown
        value = values.get(key)
        if shown and is_answered(value):
            effective[key] = value
            total += contribution(item, value)
        elif shown and item.get("required"):
            missing.append(key)
    score = total if scored else None
    band = None
    if score is not None:
        for candidate in bands:
            if candidate["min"] <= score and (candidate.get("max") is None or score <= candidate["max"]):
                band = candidate
                break
    return Evaluation(visible=visible, score=score, band=band, missing_required=missing)
