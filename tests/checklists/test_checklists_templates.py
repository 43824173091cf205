"""Checklist templates: lifecycle, immutability once published, ownership, the condition grammar, the
shipped templates, language views, and the pure scoring rules (docs/data-model.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.checklists.models import ChecklistTemplate
from app.checklists.rules import evaluate, validate_template
from app.checklists.templates import builtin_definitions
from app.core.principal import OrgKind, Role
from tests.support.checklists import (
    SCORED,
    builtin_templates,
    create_template,
    label,
    screening_answers,
    simple_template,
    staff,
)
from tests.support.factories import Factory

BASE = "/v1/checklist-templates"


def _errors(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {e["field"]: e["code"] for e in r.json()["errors"]}


# --- shipped templates ---------------------------------------------------------------------------------------


def _texts(template: dict[str, Any]) -> list[dict[str, str]]:
    out = [template["title"]]
    for item in template["items"]:
        out.append(item["label"])
        out += [o["label"] for o in item.get("options", [])]
        out += [item[k] for k in ("help", "unit") if k in item]
    out += [b["label"] for b in template["bands"] if "label" in b]
    return out


def test_shipped_templates_are_valid_and_bilingual() -> None:
    specs = {d["key"]: d for d in builtin_definitions()}
    assert set(specs) == {"crisis_household_assessment", "lonely_death_screening", "winter_facility_safety"}
    for spec in specs.values():
        assert validate_template(spec["items"], spec["bands"]) == []
        for text in _texts(spec):
            assert set(text) == {"ko", "en"}
            assert text["ko"].strip()
            assert text["en"].strip()
            assert any("\uac00" <= ch <= "\ud7a3" for ch in text["ko"]) or text["ko"] in ("℃",), text
    screening = specs["lonely_death_screening"]
    scored = [i for i in screening["items"] if i.get("weight") is not None]
    assert [i["key"] for i in scored] == SCORED
    assert all(i["type"] == "boolean" and i["weight"] == 1 for i in scored)
    at_risk = [b for b in screening["bands"] if b.get("risk_level")]
    assert at_risk == [{"min": 6, "band": "at_risk", "risk_level": "high", "label": at_risk[0]["label"]}]
    crisis = {i["key"] for i in specs["crisis_household_assessment"]["items"]}
    assert {
        "income_loss",
        "utilities_cut",
        "debt",
        "serious_illness",
        "housing_type",
        "food_insecurity",
        "isolation",
        "children_in_household",
    } <= crisis
    winter = {i["key"] for i in specs["winter_facility_safety"]["items"]}
    assert {
        "heating_system",
        "fire_extinguishers",
        "gas_safety",
        "frozen_pipes",
        "snow_removal",
        "emergency_contacts",
    } <= winter


@pytest.mark.parametrize(
    ("n_true", "band", "risk"),
    [(0, "normal", None), (5, "normal", None), (6, "at_risk", "high"), (13, "at_risk", "high")],
)
def test_lonely_death_six_of_thirteen(n_true: int, band: str, risk: str | None) -> None:
    spec = next(d for d in builtin_definitions() if d["key"] == "lonely_death_screening")
    values = {k: v["value"] for k, v in screening_answers(n_true).items()}
    ev = evaluate(spec["items"], spec["bands"], values)
    assert ev.score == n_true
    assert ev.band_key == band
    assert ev.risk_level == risk
    assert ev.missing_required == []


def test_winter_inspection_conditions() -> None:
    spec = next(d for d in builtin_definitions() if d["key"] == "winter_facility_safety")
    good = {i["key"]: "good" for i in spec["items"] if i["type"] == "single_choice"}
    ev = evaluate(spec["items"], spec["bands"], {**good, "indoor_temperature": 21})
    assert not ev.visible["hazard_photo"]
    assert not ev.visible["corrective_action"]
    assert ev.band_key == "pass"
    assert ev.missing_required == []
    cold = evaluate(spec["items"], spec["bands"], {**good, "indoor_temperature": 15})
    assert cold.visible["corrective_action"]
    assert cold.missing_required == ["corrective_action"]
    bad = evaluate(
        spec["items"],
        spec["bands"],
        {
            **good,
            "indoor_temperature": 20,
            "gas_safety": "hazardous",
            "frozen_pipes": "hazardous",
            "snow_removal": "deficient",
        },
    )
    assert bad.visible["hazard_photo"]
    assert bad.score == 7
    assert bad.band_key == "needs_action"
    assert bad.missing_required == ["hazard_photo", "corrective_action"]


async def test_ensure_builtin_templates_is_idempotent(factory: Factory) -> None:
    first = await builtin_templates(factory)
    second = await builtin_templates(factory)
    assert {k: t.id for k, t in first.items()} == {k: t.id for k, t in second.items()}
    async with factory.maker() as s:
        rows = (await s.execute(select(ChecklistTemplate).where(ChecklistTemplate.builtin.is_(True)))).scalars().all()
    assert len(rows) == 3
    assert all(r.status == "published" and r.template_version == 1 and r.published_at for r in rows)


# --- lifecycle -----------------------------------------------------------------------------------------------


async def test_draft_publish_and_immutability(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    body = simple_template()
    key = body["key"]
    r = await client.post(BASE, json=body, headers=s.coordinator.headers)
    assert r.status_code == 201, r.text
    draft = r.json()
    assert (draft["version"], draft["status"], draft["revision"]) == (1, "draft", 1)
    assert r.headers["etag"].startswith('"v1-')
    assert r.headers["location"] == f"{BASE}/{key}/versions/1"
    assert draft["title"] == {"ko": "간단 점검", "en": "Simple check"}
    url = f"{BASE}/{key}/versions/1"

    # A planner sees neither the draft nor it in lists.
    assert (await client.get(url, headers=s.planner.headers)).status_code == 404
    listed = (await client.get(BASE, headers=s.planner.headers)).json()["items"]
    assert key not in {t["key"] for t in listed}
    listed = (await client.get(BASE, headers=s.coordinator.headers)).json()["items"]
    assert (key, "draft") in {(t["key"], t["status"]) for t in listed}

    # Edit the draft with If-Match; a stale tag is 412.
    r = await client.patch(
        url, json={"title": label("수정", "Edited")}, headers={**s.coordinator.headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"]["en"] == "Edited"
    assert r.json()["revision"] == 2
    r = await client.patch(
        url, json={"title": label("또", "Again")}, headers={**s.coordinator.headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 412
    replaced = {k: body[k] for k in ("title", "items", "bands")}
    replaced["items"] = body["items"][:3]
    r = await client.put(url, json=replaced, headers=s.coordinator.headers)
    assert r.status_code == 200, r.text
    assert [i["key"] for i in r.json()["items"]] == ["lives_alone", "years_alone", "contact"]

    r = await client.post(f"{url}/publish", headers=s.coordinator.headers)
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published"
    assert published["published_at"]

    # Published: every change is a 409 with a stable type, and the record stays as it was.
    for method, kw in (
        ("patch", {"json": {"title": label("x")}}),
        ("put", {"json": replaced}),
        ("delete", {}),
        ("post", {}),
    ):
        target = f"{url}/publish" if method == "post" else url
        r = await client.request(method.upper(), target, headers=s.coordinator.headers, **kw)
        assert r.status_code == 409, (method, r.text)
        assert r.json()["type"].endswith("/template-published")
    after = (await client.get(url, headers=s.planner.headers)).json()
    assert after == published

    # The next version is a new draft; one open draft per key.
    r = await client.post(BASE, json={**replaced, "key": key}, headers=s.coordinator.headers)
    assert r.status_code == 201
    assert r.json()["version"] == 2
    r = await client.post(BASE, json={**replaced, "key": key}, headers=s.coordinator.headers)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/template-draft-exists")
    assert r.json()["version"] == 2

    mine = [
        (t["key"], t["version"], t["status"])
        for t in (await client.get(BASE, headers=s.coordinator.headers)).json()["items"]
        if t["key"] == key
    ]
    assert sorted(mine) == [(key, 1, "published"), (key, 2, "draft")]
    await client.post(f"{BASE}/{key}/versions/2/publish", headers=s.coordinator.headers)
    latest = [
        (t["key"], t["version"])
        for t in (await client.get(BASE, headers=s.planner.headers)).json()["items"]
        if t["key"] == key
    ]
    assert latest == [(key, 2)]
    every = (await client.get(BASE, params={"key": key}, headers=s.planner.headers)).json()["items"]
    assert sorted(t["version"] for t in every) == [1, 2]
    assert (await client.get(url, headers=s.partner.headers)).status_code == 200


async def test_discarded_draft_number_is_not_reused(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    body = simple_template()
    await create_template(client, s.coordinator, body, publish=False)
    r = await client.delete(f"{BASE}/{body['key']}/versions/1", headers=s.coordinator.headers)
    assert r.status_code == 204
    assert (await client.get(f"{BASE}/{body['key']}/versions/1", headers=s.coordinator.headers)).status_code == 404
    r = await client.post(BASE, json=body, headers=s.coordinator.headers)
    assert r.status_code == 201
    assert r.json()["version"] == 2


async def test_template_roles_and_ownership(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    body = simple_template()
    assert (await client.post(BASE, json=body, headers=s.planner.headers)).status_code == 403
    assert (await client.post(BASE, json=body, headers=s.partner.headers)).status_code == 403
    reporter = await factory.actor(Role.reporter)
    assert (await client.get(BASE, headers=reporter.headers)).status_code == 403
    await create_template(client, s.coordinator, body, publish=False)

    other_org = await factory.org(OrgKind.public, ["11990"])
    other = await factory.actor(Role.coordinator, other_org)
    url = f"{BASE}/{body['key']}/versions/1"
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.patch(url, json={"title": label("x")}, headers=other.headers)).status_code == 404
    assert (await client.post(f"{url}/publish", headers=other.headers)).status_code == 404
    r = await client.post(BASE, json=body, headers=other.headers)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/conflict")

    # Built-in keys: a public organization may make the next version; a private one may not.
    builtin_body = {**simple_template(), "key": "lonely_death_screening"}
    private_admin = await factory.actor(Role.admin, s.partner.org)
    assert (await client.post(BASE, json=builtin_body, headers=private_admin.headers)).status_code == 409
    r = await client.post(BASE, json=builtin_body, headers=other.headers)
    assert r.status_code == 201
    assert r.json()["version"] == 2


async def test_language_views(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    url = f"{BASE}/lonely_death_screening/versions/1"
    both = (await client.get(url, headers={**s.planner.headers, "Accept-Language": "en"})).json()
    assert both["title"] == {"ko": "고독사 위험 판단 도구", "en": "Lonely-death risk screening"}
    assert both["lang"] is None
    assert set(both["items"][0]["label"]) == {"ko", "en"}
    en = (await client.get(url, params={"lang": "en"}, headers=s.planner.headers)).json()
    assert en["title"] == "Lonely-death risk screening"
    assert en["lang"] == "en"
    assert en["items"][0]["label"] == "Lives alone"
    assert en["bands"][1]["label"].startswith("At risk")
    auto = (
        await client.get(url, params={"lang": "auto"}, headers={**s.planner.headers, "Accept-Language": "ko"})
    ).json()
    assert auto["title"] == "고독사 위험 판단 도구"
    assert auto["lang"] == "ko"
    choice = next(i for i in auto["items"] if i["key"] == "alcohol_frequency")
    assert choice["options"][2] == {"value": "daily", "label": "거의 매일"}
    listed = (await client.get(BASE, params={"lang": "en"}, headers=s.planner.headers)).json()["items"]
    assert {t["title"] for t in listed} >= {"Lonely-death risk screening", "Crisis household assessment"}
    assert (await client.get(url, params={"lang": "fr"}, headers=s.planner.headers)).status_code == 422


# --- the condition grammar -----------------------------------------------------------------------------------


def _item(key: str, type_: str = "boolean", **kw: Any) -> dict[str, Any]:
    item = {"key": key, "type": type_, "label": label(key)}
    if type_ in ("single_choice", "multi_choice"):
        item["options"] = [{"value": "a", "label": label("a")}, {"value": "b", "label": label("b")}]
    item.update(kw)
    return item


@pytest.mark.parametrize(
    ("items", "bands", "field", "code"),
    [
        # refers to a later item (a forward reference: cycles are impossible)
        (
            [_item("x", visible_if={"item": "y", "equals": True}), _item("y")],
            [],
            "body.items.0.visible_if.item",
            "condition_unknown_item",
        ),
        # refers to itself
        (
            [_item("x", visible_if={"item": "x", "equals": True})],
            [],
            "body.items.0.visible_if.item",
            "condition_unknown_item",
        ),
        # nested reference to an unknown item
        (
            [
                _item("x"),
                _item("y", visible_if={"any": [{"item": "x", "equals": True}, {"item": "zz", "answered": True}]}),
            ],
            [],
            "body.items.1.visible_if.any.1.item",
            "condition_unknown_item",
        ),
        # value of the wrong type for a boolean
        (
            [_item("x"), _item("y", visible_if={"item": "x", "equals": "yes"})],
            [],
            "body.items.1.visible_if.equals",
            "condition_type",
        ),
        # unknown option value
        (
            [_item("x", "single_choice"), _item("y", visible_if={"item": "x", "in": ["a", "zzz"]})],
            [],
            "body.items.1.visible_if.in",
            "condition_type",
        ),
        # contains on a single choice
        (
            [_item("x", "single_choice"), _item("y", visible_if={"item": "x", "contains": "a"})],
            [],
            "body.items.1.visible_if.contains",
            "condition_type",
        ),
        # gte on a boolean
        (
            [_item("x"), _item("y", visible_if={"item": "x", "gte": 1})],
            [],
            "body.items.1.visible_if.gte",
            "condition_type",
        ),
        # unknown operator / malformed
        (
            [_item("x"), _item("y", visible_if={"item": "x", "is": True})],
            [],
            "body.items.1.visible_if",
            "condition_invalid",
        ),
        ([_item("x"), _item("y", visible_if={"all": []})], [], "body.items.1.visible_if.all", "condition_invalid"),
        (
            [_item("x"), _item("y", visible_if={"all": [{"item": "x", "equals": True}], "any": []})],
            [],
            "body.items.1.visible_if",
            "condition_invalid",
        ),
        # too deep
        (
            [
                _item("x"),
                _item("y", visible_if={"not": {"not": {"not": {"not": {"not": {"item": "x", "equals": True}}}}}}),
            ],
            [],
            "body.items.1.visible_if.not.not.not.not.not",
            "condition_too_deep",
        ),
        # items
        ([_item("x"), _item("x")], [], "body.items.1.key", "duplicate"),
        (
            [_item("x", "single_choice", options=[{"value": "a", "label": label("a")}])],
            [],
            "body.items.0.options",
            "options_required",
        ),
        ([_item("x", options=[{"value": "a", "label": label("a")}])], [], "body.items.0.options", "options_forbidden"),
        ([_item("x", weight={"a": 1})], [], "body.items.0.weight", "weight_type"),
        ([_item("x", "single_choice", weight={"zzz": 1})], [], "body.items.0.weight", "weight_type"),
        ([_item("x", "text", weight=1)], [], "body.items.0.weight", "weight_type"),
        ([_item("x", min=1)], [], "body.items.0.min", "number_only"),
        ([_item("x", "number", min=5, max=1)], [], "body.items.0.max", "range"),
        # bands
        (
            [_item("x", weight=1)],
            [{"min": 0, "band": "a"}, {"min": 1, "band": "b"}],
            "body.bands.1.min",
            "bands_overlap",
        ),
        (
            [_item("x", weight=1)],
            [{"min": 0, "max": 3, "band": "a"}, {"min": 2, "band": "b"}],
            "body.bands.1.min",
            "bands_overlap",
        ),
        (
            [_item("x", weight=1)],
            [{"min": 0, "max": 3, "band": "a"}, {"min": 4, "band": "a"}],
            "body.bands.1.band",
            "duplicate",
        ),
        ([_item("x")], [{"min": 0, "band": "a"}], "body.bands", "bands_unscored"),
    ],
)
async def test_draft_validation(
    client: httpx.AsyncClient, factory: Factory, items: list[Any], bands: list[Any], field: str, code: str
) -> None:
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public, ["11990"]))
    body = {"key": "grammar_check", "title": label("문법"), "items": items, "bands": bands}
    r = await client.post(BASE, json=body, headers={**coordinator.headers, "Accept-Language": "en"})
    errors = _errors(r)
    assert errors.get(field) == code, errors
    assert all(e["message"] and not e["message"].startswith("checklists.") for e in r.json()["errors"])


async def test_valid_grammar_and_shape_errors(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public, ["11990"]))
    items = [
        _item("b"),
        _item("s", "single_choice", weight={"a": 1, "b": 2}),
        _item("m", "multi_choice", weight={"a": 1}),
        _item("n", "number", min=0, max=10),
        _item(
            "z",
            "text",
            visible_if={
                "all": [
                    {"item": "b", "not_equals": False},
                    {"any": [{"item": "s", "in": ["a"]}, {"item": "m", "contains": "b"}, {"item": "m", "in": ["a"]}]},
                    {"not": {"item": "n", "gte": 3, "lte": 5}},
                    {"item": "n", "answered": True},
                ]
            },
        ),
    ]
    r = await client.post(
        BASE, json={"key": "grammar_ok", "title": label("ok"), "items": items}, headers=coordinator.headers
    )
    assert r.status_code == 201, r.text
    # Shapes are the schema's: unknown fields, bad keys, booleans as weights, missing languages.
    for bad in (
        {**_item("b"), "colour": "red"},
        {**_item("b"), "key": "Bad Key"},
        {**_item("b"), "weight": True},
        {**_item("b"), "label": {"ko": "만"}},
        {**_item("b"), "type": "signature"},
    ):
        r = await client.post(
            BASE, json={"key": "grammar_bad", "title": label("x"), "items": [bad]}, headers=coordinator.headers
        )
        assert r.status_code == 422, bad


# --- pure evaluation -----------------------------------------------------------------------------------------


def test_hidden_items_count_as_unanswered_downstream() -> None:
    spec = simple_template()
    items, bands = spec["items"], spec["bands"]
    # lives_alone false hides years_alone; hazards (gte on years_alone) is then hidden too, even if answered.
    ev = evaluate(items, bands, {"lives_alone": False, "years_alone": 4, "contact": "never", "hazards": ["fire"]})
    assert ev.visible == {
        "lives_alone": True,
        "years_alone": False,
        "contact": True,
        "isolated_reason": False,
        "hazards": False,
        "seen_on": True,
        "photo": True,
    }
    assert ev.score == 3  # contact never (3); hazards hidden: its 2 do not count
    assert ev.band_key == "watch"
    assert ev.risk_level == "moderate"
    assert ev.missing_required == []
    ev = evaluate(
        items, bands, {"lives_alone": True, "years_alone": 4, "contact": "never", "hazards": ["fire", "cold"]}
    )
    assert ev.score == 2 + 3 + 3
    assert ev.band_key == "danger"
    assert ev.risk_level == "high"
    assert ev.missing_required == ["isolated_reason"]
    ev = evaluate(items, bands, {})
    assert ev.score == 0
    assert ev.band_key == "ok"
    assert ev.missing_required == ["lives_alone", "contact"]


def test_unanswered_comparisons_are_false_and_not_inverts() -> None:
    items = [
        _item("a"),
        _item("n", "number"),
        _item("p", visible_if={"item": "a", "not_equals": True}),
        _item("q", visible_if={"not": {"item": "a", "equals": True}}),
        _item("r", visible_if={"item": "n", "lte": 2}),
        _item("s", visible_if={"item": "a", "answered": False}),
    ]
    ev = evaluate(items, [], {})
    assert ev.visible == {"a": True, "n": True, "p": False, "q": True, "r": False, "s": True}
    assert ev.score is None
    assert ev.band is None
    ev = evaluate(items, [], {"a": False, "n": 2})
    assert ev.visible == {"a": True, "n": True, "p": True, "q": True, "r": True, "s": False}
    ev = evaluate(items, [], {"a": True, "n": 3})
    assert ev.visible == {"a": True, "n": True, "p": False, "q": False, "r": False, "s": False}
    # 1 is not True: booleans never equal numbers.
    assert (
        evaluate([_item("a"), _item("b", visible_if={"item": "a", "equals": True})], [], {"a": 1}).visible["b"] is False
    )


def test_band_gaps_give_no_band() -> None:
    items = [_item("s", "single_choice", weight={"a": 0.5, "b": 6})]
    bands = [{"min": 0, "max": 0, "band": "none"}, {"min": 1, "band": "some"}]
    assert evaluate(items, bands, {"s": "a"}).band is None
    assert evaluate(items, bands, {"s": "b"}).band_key == "some"
    assert evaluate(items, bands, {}).band_key == "none"
