"""Checklists through sync (docs/sync.md): templates and responses on the phone, and the per-item merge of
``checklist_response`` pushes with conflicts kept in the history."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.checklists.models import ChecklistAnswerHistory, ChecklistResponse
from tests.support.checklists import SCREENING, builtin_templates, create_template, simple_template, staff
from tests.support.factories import Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone
from tests.support.sync import push as _push

PIN = [{"key": SCREENING, "version": 1}]


def _mutation(rid: uuid.UUID, visit: Any, base: int | None, answers: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "checklist_response",
        "op": "upsert",
        "id": str(rid),
        "base_version": base,
        "data": {
            "visit_id": str(visit.id),
            "template_key": SCREENING,
            "template_version": 1,
            "answers": answers,
            **data,
        },
        "at": "2026-01-05T10:00:00+09:00",
    }


async def test_phone_holds_published_templates_and_its_responses(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    templates = await builtin_templates(factory)
    draft = await create_template(client, s.coordinator, simple_template(), publish=False)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.partner.user], checklists=PIN)
    other = await make_visit(factory, await make_household(factory), [s.planner2.user], checklists=PIN)
    r = await client.post(
        f"/v1/visits/{visit.id}/checklists",
        json={"template_key": SCREENING, "template_version": 1, "answers": {"lives_alone": {"value": True}}},
        headers=s.planner.headers,
    )
    mine = r.json()["id"]
    r = await client.post(
        f"/v1/visits/{other.id}/checklists",
        json={"template_key": SCREENING, "template_version": 1, "answers": {}},
        headers=s.planner2.headers,
    )
    theirs = r.json()["id"]

    phone = Phone(client, s.planner)
    await phone.sync()
    assert phone.ids("checklist_template") == {str(t.id) for t in templates.values()}
    assert draft["id"] not in phone.ids("checklist_template")
    screening = phone.store[("checklist_template", str(templates[SCREENING].id))]
    assert screening["data"]["version"] == 1
    assert screening["data"]["title"] == {"ko": "고독사 위험 판단 도구", "en": "Lonely-death risk screening"}
    assert screening["version"] == screening["data"]["revision"]
    assert phone.ids("checklist_response") == {mine}
    assert theirs not in phone.ids("checklist_response")
    data = phone.store[("checklist_response", mine)]["data"]
    assert (data["visit_id"], data["template_key"], data["score"]) == (str(visit.id), SCREENING, 1)

    # The partner's phone gets the templates, and the response only once consent opens the household.
    partner_phone = Phone(client, s.partner)
    await partner_phone.sync()
    assert SCREENING in {rec["data"]["key"] for (e, _), rec in partner_phone.store.items() if e == "checklist_template"}
    assert partner_phone.ids("checklist_response") == set()
    await make_consent(factory, household, s.coordinator.user, organization=s.partner.org)
    await partner_phone.sync()
    assert partner_phone.ids("checklist_response") == {mine}


async def test_push_merges_per_item_and_reports_conflicts(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.planner2.user], checklists=PIN)
    rid = uuid.uuid4()

    created = _mutation(rid, visit, None, {"lives_alone": {"value": True}, "skips_meals": {"value": True}})
    [result] = await _push(client, s.planner, [created])
    assert result["status"] == "applied", result
    assert result["version"] == 1
    # A retried push is a duplicate with the same effect.
    [again] = await _push(client, s.planner, [created])
    assert again["status"] == "duplicate"

    # The second phone, on version 1, changes lives_alone: applied (version 2).
    [second] = await _push(client, s.planner2, [_mutation(rid, visit, 1, {"lives_alone": {"value": False}})])
    assert (second["status"], second["version"]) == ("applied", 2)

    # The first phone, still on version 1, changed lives_alone and low_mood offline.
    late = _mutation(rid, visit, 1, {"lives_alone": {"value": True}, "low_mood": {"value": True}})
    [third] = await _push(client, s.planner, [late])
    assert third["status"] == "conflict", third
    assert third["version"] == 3
    assert third["server"]["lives_alone"]["value"] is False
    assert third["server"]["lives_alone"]["answered_by"] == str(s.planner2.id)
    assert third["device"]["lives_alone"]["value"] is True
    assert third["device"]["lives_alone"]["answered_at"] == "2026-01-05T01:00:00Z"  # the mutation's time

    async with factory.maker() as sess:
        response = await sess.get(ChecklistResponse, rid)
        assert response is not None
        assert response.answers["lives_alone"]["value"] is False
        assert response.answers["low_mood"]["value"] is True
        assert response.score == 2
        kept = (
            await sess.execute(
                select(ChecklistAnswerHistory.value, ChecklistAnswerHistory.reason).where(
                    ChecklistAnswerHistory.response_id == rid, ChecklistAnswerHistory.reason == "conflict"
                )
            )
        ).all()
    assert [tuple(k) for k in kept] == [(True, "conflict")]


async def test_push_rejections(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user], checklists=PIN)
    outsider_visit = await make_visit(factory, household, [s.planner2.user], checklists=PIN)
    results = await _push(
        client,
        s.planner,
        [
            _mutation(uuid.uuid4(), visit, None, {"lives_alone": {"value": "yes"}}),
            _mutation(uuid.uuid4(), visit, None, {"lives_alone": {"value": True}}, colour="red"),
            _mutation(uuid.uuid4(), outsider_visit, None, {"lives_alone": {"value": True}}),
            _mutation(uuid.uuid4(), visit, None, {"lives_alone": {"value": True}}, completed=True),
        ],
    )
    assert [r["status"] for r in results] == ["rejected"] * 4
    assert results[0]["error"]["errors"][0]["field"] == "answers.lives_alone.value"
    assert results[2]["error"]["status"] == 403
    assert {e["field"] for e in results[3]["error"]["errors"]} >= {"answers.visitor_opinion"}
    # A teammate's response made under another id merges into the visit's one.
    first = uuid.uuid4()
    [ok] = await _push(client, s.planner, [_mutation(first, visit, None, {"lives_alone": {"value": True}})])
    assert ok["status"] == "applied"
    [merged] = await _push(client, s.planner, [_mutation(uuid.uuid4(), visit, None, {"skips_meals": {"value": True}})])
    assert merged["status"] == "applied"
    async with factory.maker() as sess:
        rows = (await sess.execute(select(ChecklistResponse).where(ChecklistResponse.visit_id == visit.id))).scalars()
        assert [(r.id, sorted(r.answers)) for r in rows] == [(first, ["lives_alone", "skips_meals"])]


async def test_two_phones_first_answering_offline_conflict_on_the_same_item(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Neither phone held a response: each made its own id offline. The second to arrive merges into the
    first's response; an item both answered differently is a conflict (both values returned), other items merge."""
    s = await staff(factory)
    await builtin_templates(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.planner2.user], checklists=PIN)
    first_id, second_id = uuid.uuid4(), uuid.uuid4()

    [first] = await _push(client, s.planner, [_mutation(first_id, visit, None, {"lives_alone": {"value": True}})])
    assert first["status"] == "applied", first
    # The first phone saves again before it pulls: its own earlier answer is no conflict.
    [again] = await _push(client, s.planner, [_mutation(first_id, visit, None, {"lives_alone": {"value": False}})])
    assert again["status"] == "applied", again

    late = _mutation(second_id, visit, None, {"lives_alone": {"value": True}, "low_mood": {"value": True}})
    [second] = await _push(client, s.planner2, [late])
    assert second["status"] == "conflict", second
    assert second["response_id"] == str(first_id)
    assert second["server"]["lives_alone"]["value"] is False
    assert second["device"]["lives_alone"]["value"] is True
    async with factory.maker() as sess:
        response = await sess.get(ChecklistResponse, first_id)
        assert response is not None
        assert response.answers["lives_alone"]["value"] is False
        assert response.answers["low_mood"]["value"] is True
