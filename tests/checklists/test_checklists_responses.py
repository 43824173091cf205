"""Checklist responses: pinned templates, value validation, required-only-when-visible, scores and bands,
per-item merges with conflicts and history, team-only writes, partner consent, audit, and the household's
risk after a high-risk screening (docs/data-model.md, docs/access.md, docs/sync.md#push)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.checklists.merge import merge_answers
from app.checklists.models import ChecklistAnswerHistory, ChecklistResponse
from app.checklists.responses import upsert_response, visit_checklists_complete
from app.core.db import utcnow
from app.core.errors import Problem
from app.households.models import Household
from app.sync.models import ChangeLog
from app.visits.models import Visit
from tests.support.checklists import (
    SCREENING,
    Staff,
    builtin_templates,
    create_template,
    make_facility,
    make_facility_visit,
    principal_of,
    screening_answers,
    simple_template,
    staff,
)
from tests.support.factories import Factory, make_consent, make_household, make_visit

PIN = [{"key": SCREENING, "version": 1}]


def _url(visit: Any, response_id: Any = None) -> str:
    base = f"/v1/visits/{visit.id}/checklists"
    return f"{base}/{response_id}" if response_id else base


async def _screening_visit(factory: Factory, s: Staff, *team: Any, **kw: Any) -> tuple[Any, Any]:
    await builtin_templates(factory)
    household = await make_household(factory)
    members = [a.user for a in team] or [s.planner.user]
    visit = await make_visit(factory, household, members, checklists=PIN, **kw)
    return household, visit


async def _post(
    client: httpx.AsyncClient, actor: Any, visit: Any, answers: dict[str, Any], **kw: Any
) -> httpx.Response:
    body = {"template_key": kw.pop("key", SCREENING), "template_version": kw.pop("version", 1), "answers": answers}
    body.update(kw)
    return await client.post(_url(visit), json=body, headers=actor.headers)


# --- creating, scoring, submitting ---------------------------------------------------------------------------


async def test_screening_scores_submits_and_raises_household_risk(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household, visit = await _screening_visit(factory, s, s.planner)
    client_id = uuid.uuid4()
    at = "2026-01-05T10:00:00+09:00"
    answers = {k: {**v, "answered_at": at} for k, v in screening_answers(6).items()}
    del answers["visitor_opinion"]
    r = await _post(client, s.planner, visit, answers, id=str(client_id))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == str(client_id)
    assert r.headers["location"] == _url(visit, client_id)
    assert r.headers["etag"].startswith(f'"v{body["version"]}-')
    assert body["household_id"] == str(household.id)
    assert (body["score"], body["band"], body["risk_level"], body["completed"]) == (6, "at_risk", "high", False)
    assert body["missing_required"] == ["visitor_opinion"]
    assert body["conflicts"] == []
    assert body["answers"]["lives_alone"] == {
        "value": True,
        "answered_by": str(s.planner.id),
        "answered_at": "2026-01-05T01:00:00Z",
    }
    async with factory.maker() as sess:
        h = await sess.get(Household, household.id)
        assert h is not None
        assert h.assessed_risk is None  # not submitted yet: nothing applied

    # Submitting with a required item missing is refused, with the item named.
    r = await client.patch(_url(visit, client_id), json={"completed": True}, headers=s.planner.headers)
    assert r.status_code == 422
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("answers.visitor_opinion", "required")]

    r = await client.patch(
        _url(visit, client_id),
        json={"answers": {"visitor_opinion": {"value": "위험군"}}, "completed": True},
        headers=s.planner.headers,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["completed"] is True
    assert done["completed_by"] == str(s.planner.id)
    assert done["completed_at"]
    assert done["missing_required"] == []
    async with factory.maker() as sess:
        h = await sess.get(Household, household.id)
        assert h is not None
        assert h.assessed_risk == "high"
        assert h.assessed_source == "checklist:lonely_death_screening@1"
        assert h.risk_level == "high"
        v = await sess.get(Visit, visit.id)
        assert v is not None
        assert await visit_checklists_complete(sess, v)

    # Un-submitting is refused; amending keeps it submitted and re-checks required items.
    r = await client.patch(_url(visit, client_id), json={"completed": False}, headers=s.planner.headers)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/response-submitted")
    r = await client.patch(
        _url(visit, client_id), json={"answers": {"visitor_opinion": {"value": None}}}, headers=s.planner.headers
    )
    assert r.status_code == 422
    r = await client.patch(
        _url(visit, client_id), json={"answers": {"alcohol_problem": {"value": False}}}, headers=s.planner.headers
    )
    assert r.status_code == 200
    assert (r.json()["score"], r.json()["band"], r.json()["completed"]) == (5, "normal", True)

    # The list and the single record agree; the record carries the docs/data-model.md fields.
    listed = (await client.get(_url(visit), headers=s.coordinator.headers)).json()["items"]
    one = (await client.get(_url(visit, client_id), headers=s.coordinator.headers)).json()
    assert listed == [one]
    assert {"id", "version", "visit_id", "template_key", "template_version", "answers", "score", "band"} <= set(one)


async def test_normal_screening_does_not_apply_a_risk(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household, visit = await _screening_visit(factory, s, s.planner)
    r = await _post(client, s.planner, visit, screening_answers(5), completed=True)
    assert r.status_code == 201, r.text
    assert (r.json()["band"], r.json()["risk_level"], r.json()["completed"]) == ("normal", None, True)
    async with factory.maker() as sess:
        h = await sess.get(Household, household.id)
        assert h is not None
        assert h.assessed_risk is None


async def test_upsert_merges_into_the_existing_response(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner, s.planner2)
    first = await _post(client, s.planner, visit, {"lives_alone": {"value": True}})
    assert first.status_code == 201
    # A teammate's phone made its own id offline: the answers merge into the one response.
    second = await _post(client, s.planner2, visit, {"skips_meals": {"value": True}}, id=str(uuid.uuid4()))
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert set(second.json()["answers"]) == {"lives_alone", "skips_meals"}
    assert second.json()["answers"]["skips_meals"]["answered_by"] == str(s.planner2.id)
    assert second.json()["score"] == 2
    items = (await client.get(_url(visit), headers=s.planner.headers)).json()["items"]
    assert len(items) == 1


async def test_required_only_when_visible(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    tpl = await create_template(client, s.coordinator, simple_template())
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user], checklists=[{"key": tpl["key"], "version": 1}])
    kw = {"key": tpl["key"]}
    # years_alone is required but hidden when lives_alone is false: submission passes without it.
    r = await _post(
        client,
        s.planner,
        visit,
        {"lives_alone": {"value": False}, "contact": {"value": "weekly"}},
        completed=True,
        **kw,
    )
    assert r.status_code == 201, r.text
    assert r.json()["completed"] is True

    other = await make_visit(factory, household, [s.planner.user], checklists=[{"key": tpl["key"], "version": 1}])
    answers = {"lives_alone": {"value": True}, "contact": {"value": "never"}}
    r = await _post(client, s.planner, other, answers, completed=True, **kw)
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == ["answers.isolated_reason", "answers.years_alone"]
    # Nothing was stored by the refused request.
    assert (await client.get(_url(other), headers=s.planner.headers)).json()["items"] == []


async def test_hidden_answers_do_not_count(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    tpl = await create_template(client, s.coordinator, simple_template())
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user], checklists=[{"key": tpl["key"], "version": 1}])
    answers = {
        "lives_alone": {"value": True},
        "years_alone": {"value": 3},
        "contact": {"value": "monthly"},
        "hazards": {"value": ["fire", "cold"]},
    }
    r = await _post(client, s.planner, visit, answers, key=tpl["key"])
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["band"]) == (2 + 1 + 3, "danger")
    # lives_alone false hides years_alone, which hides hazards: their answers stay but stop counting.
    r = await client.patch(
        _url(visit, r.json()["id"]), json={"answers": {"lives_alone": {"value": False}}}, headers=s.planner.headers
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["score"], body["band"], body["risk_level"]) == (1, "ok", None)
    assert body["answers"]["hazards"]["value"] == ["fire", "cold"]


async def test_values_are_validated(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    tpl = await create_template(client, s.coordinator, simple_template())
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user], checklists=[{"key": tpl["key"], "version": 1}])
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"lives_alone": {"value": "yes"}}, "answers.lives_alone.value", "bool_type"),
        ({"lives_alone": {"value": 1}}, "answers.lives_alone.value", "bool_type"),
        ({"years_alone": {"value": "3"}}, "answers.years_alone.value", "number_type"),
        ({"years_alone": {"value": True}}, "answers.years_alone.value", "number_type"),
        ({"years_alone": {"value": -1}}, "answers.years_alone.value", "greater_than_equal"),
        ({"contact": {"value": "daily"}}, "answers.contact.value", "option_unknown"),
        ({"hazards": {"value": "fire"}}, "answers.hazards.value", "option_unknown"),
        ({"hazards": {"value": ["fire", "fire"]}}, "answers.hazards.value", "duplicate"),
        ({"seen_on": {"value": "2026-13-01"}}, "answers.seen_on.value", "date_type"),
        ({"seen_on": {"value": "2026-01-05T10:00:00Z"}}, "answers.seen_on.value", "date_type"),
        ({"photo": {"value": "not-a-uuid"}}, "answers.photo.value", "photo_type"),
        ({"isolated_reason": {"value": 42}}, "answers.isolated_reason.value", "string_type"),
        ({"nope": {"value": True}}, "answers.nope", "unknown_item"),
        (
            {"seen_on": {"value": "2026-01-05", "answered_at": "2026-01-05T10:00:00"}},
            "answers.seen_on.answered_at",
            "timezone",
        ),
    ]
    for answers, field, code in cases:
        r = await _post(client, s.planner, visit, answers, key=tpl["key"])
        assert r.status_code == 422, (answers, r.text)
        assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [(field, code)], answers
    ok = {"seen_on": {"value": "2026-02-29"}}
    assert (await _post(client, s.planner, visit, ok, key=tpl["key"])).status_code == 422  # 2026 is no leap year
    ok = {
        "seen_on": {"value": "2028-02-29"},
        "photo": {"value": [str(uuid.uuid4())]},
        "years_alone": {"value": 2.5},
        "hazards": {"value": []},
        "isolated_reason": {"value": "긴 사유"},
    }
    r = await _post(client, s.planner, visit, ok, key=tpl["key"])
    assert r.status_code == 201, r.text


async def test_template_must_be_pinned_and_published(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner)
    r = await _post(client, s.planner, visit, {}, key="crisis_household_assessment")
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "not_pinned"
    draft = await create_template(client, s.coordinator, simple_template(), publish=False)
    household = await make_household(factory)
    pinned_draft = await make_visit(
        factory, household, [s.planner.user], checklists=[{"key": draft["key"], "version": 1}]
    )
    r = await _post(client, s.planner, pinned_draft, {}, key=draft["key"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unpublished"


# --- merging -------------------------------------------------------------------------------------------------


async def test_per_item_merge_conflicts_and_history(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner, s.planner2)
    r = await _post(client, s.planner, visit, {"lives_alone": {"value": True}, "skips_meals": {"value": True}})
    rid = r.json()["id"]
    assert r.json()["version"] == 1

    # Planner 2 read version 1 and changes lives_alone: applied, the old value goes to history.
    r = await client.patch(
        _url(visit, rid),
        json={"base_version": 1, "answers": {"lives_alone": {"value": False}}},
        headers=s.planner2.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["conflicts"] == []

    # Planner 1, still on version 1, changes lives_alone too (conflict: the server keeps planner 2's value)
    # and low_mood (a different item: merged), and repeats skips_meals unchanged.
    r = await client.patch(
        _url(visit, rid),
        json={
            "base_version": 1,
            "answers": {"lives_alone": {"value": True}, "low_mood": {"value": True}, "skips_meals": {"value": True}},
        },
        headers=s.planner.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 3
    assert body["answers"]["lives_alone"]["value"] is False
    assert body["answers"]["lives_alone"]["answered_by"] == str(s.planner2.id)
    assert body["answers"]["low_mood"]["value"] is True
    assert body["answers"]["skips_meals"]["answered_by"] == str(s.planner.id)
    assert len(body["conflicts"]) == 1
    conflict = body["conflicts"][0]
    assert conflict["item_key"] == "lives_alone"
    assert conflict["server"]["value"] is False
    assert conflict["server"]["answered_by"] == str(s.planner2.id)
    assert conflict["incoming"]["value"] is True
    assert conflict["incoming"]["answered_by"] == str(s.planner.id)
    assert body["score"] == 2  # skips_meals + low_mood

    # Knowing version 3, planner 1 may now overwrite.
    r = await client.patch(
        _url(visit, rid),
        json={"base_version": 3, "answers": {"lives_alone": {"value": True}}},
        headers=s.planner.headers,
    )
    assert r.status_code == 200
    assert r.json()["conflicts"] == []
    assert r.json()["answers"]["lives_alone"]["value"] is True

    async with factory.maker() as sess:
        rows = (
            (
                await sess.execute(
                    select(ChecklistAnswerHistory)
                    .where(ChecklistAnswerHistory.response_id == uuid.UUID(rid))
                    .order_by(ChecklistAnswerHistory.created_at)
                )
            )
            .scalars()
            .all()
        )
    history = [(h.item_key, h.value, h.reason, h.answered_by, h.actor_id, h.response_version) for h in rows]
    assert history == [
        ("lives_alone", True, "overwritten", s.planner.id, s.planner2.id, 1),
        ("lives_alone", True, "conflict", s.planner.id, s.planner.id, 2),
        ("lives_alone", False, "overwritten", s.planner2.id, s.planner.id, 3),
    ]
    assert all(h.superseded_at is not None for h in rows)


async def test_if_match_on_patch(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner, s.planner2)
    rid = (await _post(client, s.planner, visit, {"lives_alone": {"value": True}})).json()["id"]
    await client.patch(
        _url(visit, rid), json={"answers": {"lives_alone": {"value": False}}}, headers=s.planner2.headers
    )
    stale = {**s.planner.headers, "If-Match": '"v1"'}
    r = await client.patch(_url(visit, rid), json={"answers": {"low_mood": {"value": True}}}, headers=stale)
    assert r.status_code == 412
    fresh = {**s.planner.headers, "If-Match": '"v2"'}
    r = await client.patch(_url(visit, rid), json={"answers": {"lives_alone": {"value": True}}}, headers=fresh)
    assert r.status_code == 200
    assert r.json()["answers"]["lives_alone"]["value"] is True


async def test_merge_answers_function(factory: Factory) -> None:
    """The merge primitive the sync push uses, on a response in a session and out of one."""
    actor_a, actor_b = uuid.uuid4(), uuid.uuid4()
    now = utcnow()
    response = ChecklistResponse(visit_id=uuid.uuid4(), template_id=uuid.uuid4(), template_key="k", template_version=1)
    result = merge_answers(response, {"a": {"value": 1}, "b": {"value": None}}, None, actor_a, now=now)
    assert (result.applied, result.unchanged, result.conflicts, result.history) == (["a"], ["b"], [], [])
    assert response.item_versions == {"a": 1}
    stamp = now.isoformat().replace("+00:00", "Z")  # times are written with Z
    assert response.answers["a"] == {"value": 1, "answered_by": str(actor_a), "answered_at": stamp}
    # Same value again: unchanged, even with an old base.
    assert merge_answers(response, {"a": {"value": 1.0}}, 0, actor_b).unchanged == ["a"]
    # No base version claimed: last writer wins and the old value is kept in history.
    result = merge_answers(response, {"a": {"value": 2}}, None, actor_b, now=now)
    assert result.applied == ["a"]
    assert [(h.item_key, h.value, h.reason) for h in result.history] == [("a", 1, "overwritten")]
    # A base older than the item's version: conflict.
    response.item_versions = {"a": 3}
    result = merge_answers(response, {"a": {"value": 9}, "c": {"value": True}}, 2, actor_a, now=now)
    assert result.applied == ["c"]
    assert result.conflict_data()[0]["server"]["value"] == 2
    assert result.conflict_data()[0]["incoming"]["value"] == 9
    assert response.answers["a"]["value"] == 2
    assert [(h.value, h.reason) for h in result.history] == [(9, "conflict")]


async def test_upsert_response_service_for_sync(factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner)
    principal = principal_of(s.planner)
    rid = uuid.uuid4()
    async with factory.maker() as sess:
        done = await upsert_response(
            sess,
            principal,
            visit.id,
            {
                "template_key": SCREENING,
                "template_version": 1,
                "answers": {"lives_alone": {"value": True, "answered_at": "2026-01-05T09:00:00+09:00"}},
            },
            response_id=rid,
            base_version=None,
        )
        assert done.created
        assert done.response.id == rid
        assert done.record()["answers"]["lives_alone"]["answered_at"] == "2026-01-05T00:00:00Z"
        with pytest.raises(Problem) as caught:
            await upsert_response(
                sess,
                principal,
                visit.id,
                {"template_key": SCREENING, "template_version": 1, "answers": {"lives_alone": {"value": "x"}}},
            )
        assert caught.value.status == 422
        with pytest.raises(Problem) as caught:
            await upsert_response(
                sess,
                principal,
                visit.id,
                {
                    "template_key": SCREENING,
                    "template_version": 1,
                    "answers": {"lives_alone": {"value": True, "by": 1}},
                },
            )
        assert caught.value.status == 422
        await sess.rollback()


# --- access ----------------------------------------------------------------------------------------------------


async def test_only_the_team_writes(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner)
    rid = (await _post(client, s.planner, visit, {"lives_alone": {"value": True}})).json()["id"]
    # The coordinator and another planner of the jurisdiction see the visit but are not on its team.
    for actor in (s.coordinator, s.planner2):
        r = await _post(client, actor, visit, {"lives_alone": {"value": False}})
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("/not-visit-team")
        r = await client.patch(
            _url(visit, rid), json={"answers": {"lives_alone": {"value": False}}}, headers=actor.headers
        )
        assert r.status_code == 403
        assert (await client.get(_url(visit, rid), headers=actor.headers)).status_code == 200
    # A planner of another district sees nothing.
    from app.core.principal import OrgKind, Role

    far = await factory.actor(Role.planner, await factory.org(OrgKind.public, ["26110"]))
    assert (await client.get(_url(visit), headers=far.headers)).status_code == 404
    assert (await _post(client, far, visit, {})).status_code == 404
    assert (await client.get(_url(visit, rid), headers=far.headers)).status_code == 404
    # Roles that never read responses.
    admin = await factory.actor(Role.admin, s.coordinator.org)
    assert (await client.get(_url(visit), headers=admin.headers)).status_code == 403
    # A response id of another visit is not found under this one.
    _, other = await _screening_visit(factory, s, s.planner)
    assert (await client.get(_url(other, rid), headers=s.planner.headers)).status_code == 404


async def test_cancelled_visit_takes_no_answers(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    _, visit = await _screening_visit(factory, s, s.planner, status="cancelled")
    r = await _post(client, s.planner, visit, {"lives_alone": {"value": True}})
    assert r.status_code == 409
    assert r.json()["type"].endswith("/visit-cancelled")


async def test_partner_needs_consent(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household, visit = await _screening_visit(factory, s, s.planner, s.partner)
    rid = (await _post(client, s.planner, visit, {"lives_alone": {"value": True}})).json()["id"]
    assert (await client.get(_url(visit), headers=s.partner.headers)).status_code == 404
    assert (await client.get(_url(visit, rid), headers=s.partner.headers)).status_code == 404
    assert (await _post(client, s.partner, visit, {"skips_meals": {"value": True}})).status_code == 404

    consent = await make_consent(factory, household, s.coordinator.user, organization=s.partner.org)
    assert (await client.get(_url(visit), headers=s.partner.headers)).status_code == 200
    r = await _post(client, s.partner, visit, {"skips_meals": {"value": True}})
    assert r.status_code == 200, r.text
    assert r.json()["answers"]["skips_meals"]["answered_by"] == str(s.partner.id)

    async with factory.maker() as sess:
        from app.core.uow import commit
        from app.households.models import Consent

        row = await sess.get(Consent, consent.id)
        assert row is not None
        row.withdrawn_at = utcnow()
        await commit(sess)
    assert (await client.get(_url(visit, rid), headers=s.partner.headers)).status_code == 404
    assert (await _post(client, s.partner, visit, {"low_mood": {"value": True}})).status_code == 404


async def test_facility_inspection_without_household(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    facility = await make_facility(factory)
    visit = await make_facility_visit(
        factory,
        facility,
        [s.planner.user, s.partner.user],
        checklists=[{"key": "winter_facility_safety", "version": 1}],
    )
    answers = {
        "heating_system": "good",
        "gas_safety": "hazardous",
        "co_alarm": "good",
        "fire_extinguishers": "deficient",
        "fire_alarm_sprinkler": "good",
        "electric_heaters": "not_applicable",
        "frozen_pipes": "good",
        "snow_removal": "good",
        "emergency_exits": "good",
        "emergency_contacts": "good",
        "cold_wave_care": "good",
        "indoor_temperature": 19.5,
    }
    r = await _post(
        client,
        s.partner,
        visit,
        {k: {"value": v} for k, v in answers.items()},
        key="winter_facility_safety",
        completed=True,
    )
    assert r.status_code == 422  # the hazard asks for a photo and a corrective action
    assert sorted(e["field"] for e in r.json()["errors"]) == ["answers.corrective_action", "answers.hazard_photo"]
    answers |= {
        "hazard_photo": [str(uuid.uuid4())],
        "corrective_action": "가스 밸브 교체 요청",
        "reinspection_by": "2026-12-20",
    }
    r = await _post(
        client,
        s.partner,
        visit,
        {k: {"value": v} for k, v in answers.items()},
        key="winter_facility_safety",
        completed=True,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["household_id"] is None
    assert (body["score"], body["band"], body["risk_level"], body["completed"]) == (4, "needs_action", None, True)


# --- audit and sync bookkeeping --------------------------------------------------------------------------------


async def test_reads_and_writes_are_audited_and_logged_for_sync(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household, visit = await _screening_visit(factory, s, s.planner)
    since: datetime = utcnow() - timedelta(seconds=1)
    rid = (await _post(client, s.planner, visit, {"lives_alone": {"value": True}})).json()["id"]
    await client.get(_url(visit), headers=s.coordinator.headers)
    await client.get(_url(visit, rid), headers=s.coordinator.headers)
    async with factory.maker() as sess:
        events = (
            (
                await sess.execute(
                    select(AuditEvent)
                    .where(AuditEvent.entity == "checklist_response", AuditEvent.at >= since)
                    .order_by(AuditEvent.at)
                )
            )
            .scalars()
            .all()
        )
        changes = (await sess.execute(select(ChangeLog).where(ChangeLog.entity_id == uuid.UUID(rid)))).scalars().all()
    assert [(e.action, e.actor_id) for e in events] == [
        ("checklist_response.create", s.planner.id),
        ("checklist_response.read", s.coordinator.id),
        ("checklist_response.read", s.coordinator.id),
    ]
    assert all(e.household_id == household.id and e.entity_id == uuid.UUID(rid) for e in events)
    assert all("lives_alone" not in str(e.details) for e in events)
    assert [(c.entity, c.op, c.visit_id, c.household_id) for c in changes] == [
        ("checklist_response", "upsert", visit.id, household.id)
    ]
