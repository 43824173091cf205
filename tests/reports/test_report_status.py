"""Reporters hear back (docs/winter.md): a report's progress received → visited → support_linked / closed, with no
household detail, computed on read; the worker tells the reporter each move once, through the notification
interface (a log-only provider here that writes nothing personal), driven by the outbox."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import select

from app.auth.models import User
from app.core.logging import JsonFormatter
from app.core.principal import OrgKind, Role
from app.events.models import OutboxEvent
from app.households.models import Household, HouseholdStatus
from app.notify.config import NOTIFY_SETTINGS
from app.notify.models import Notification, NotificationStatus
from app.notify.service import NOTIFIER, deliver_once, enqueue
from app.reports.progress import track_once
from tests.support.care import make_resource, move, propose, set_columns
from tests.support.factories import Actor, Factory, make_visit

PHONE = "010-0777-4321"
SUBJECT = "박제보대상"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines(app: Any) -> Iterator[Lines]:
    root = logging.getLogger()
    handler = Lines()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _people(factory: Factory) -> tuple[Actor, Actor, Actor]:
    public = await factory.org(OrgKind.public, ["11990"])
    coordinator = await factory.actor(Role.coordinator, public)
    planner = await factory.actor(Role.planner, public)
    reporter = await factory.actor(Role.reporter, await factory.org(OrgKind.private, ["11990"]))
    await set_columns(factory, User, reporter.user.id, phone=PHONE)
    return coordinator, planner, reporter


async def _report(client: httpx.AsyncClient, reporter: Actor) -> dict[str, Any]:
    body = {
        "observation": "우편물이 쌓이고 며칠째 인기척이 없습니다",
        "address": "온기구 온기로 77길 7",
        "district_code": "11990",
        "dong_code": "1199051000",
        "subject_name": SUBJECT,
        "subject_phone": "010-0555-1111",
        "indicators": ["isolation"],
    }
    r = await client.post("/v1/reports", json=body, headers=reporter.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _mine(client: httpx.AsyncClient, reporter: Actor, report_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/reports/{report_id}", headers=reporter.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _notifications(factory: Factory, recipient: uuid.UUID) -> list[Notification]:
    async with factory.maker() as s:
        rows = await s.execute(
            select(Notification).where(Notification.recipient_id == recipient).order_by(Notification.created_at)
        )
        return list(rows.scalars())


async def _status_events(factory: Factory, report_id: str) -> list[str]:
    async with factory.maker() as s:
        rows = await s.execute(
            select(OutboxEvent.payload).where(OutboxEvent.type == "report.status_changed").order_by(OutboxEvent.seq)
        )
        return [p["status"] for p in rows.scalars() if p["report_id"] == report_id]


async def test_a_report_moves_received_visited_support_linked_closed(
    client: httpx.AsyncClient, factory: Factory, lines: Lines
) -> None:
    coordinator, planner, reporter = await _people(factory)
    state = factory.state
    report = await _report(client, reporter)
    assert (report["progress"], report["progress_label"]) == ("received", "접수")

    r = await client.post(
        f"/v1/reports/{report['id']}/triage",
        json={"decision": "household", "create_new": True},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    household_id = uuid.UUID(r.json()["household"]["id"])
    await track_once(state)
    mine = await _mine(client, reporter, report["id"])
    assert mine["progress"] == "received"
    assert "household_id" not in mine
    assert await _notifications(factory, reporter.user.id) == []

    # a visit is completed: REST shows it at once (computed on read), the worker tells the reporter once
    async with factory.maker() as s:
        household = await s.get(Household, household_id)
    visit = await make_visit(factory, household, [planner.user])
    for to in ("in_progress", "completed"):
        r = await client.post(f"/v1/visits/{visit.id}/transitions", json={"to": to}, headers=planner.headers)
        assert r.status_code == 200, r.text
    assert (await _mine(client, reporter, report["id"]))["progress"] == "visited"
    assert await _notifications(factory, reporter.user.id) == []
    assert await track_once(state) >= 1
    await track_once(state)  # nothing new: nothing twice
    [notice] = await _notifications(factory, reporter.user.id)
    assert (notice.template, notice.status) == ("reports.notice.visited", NotificationStatus.pending)
    assert await deliver_once(state) == 1
    assert await deliver_once(state) == 0
    [notice] = await _notifications(factory, reporter.user.id)
    assert (notice.status, notice.provider, notice.attempts) == (NotificationStatus.sent, "log", 1)
    assert notice.sent_at is not None

    # a support approved: support_linked
    resource = await make_resource(client, coordinator)
    sid = (await propose(client, planner, household_id, resource["id"])).json()["id"]
    assert (await move(client, planner, sid, "requested")).status_code == 200
    assert (await move(client, coordinator, sid, "approved")).status_code == 200
    await track_once(state)
    assert (await _mine(client, reporter, report["id"]))["progress"] == "support_linked"

    # the household is closed (no event for that): the sweep finds it
    await set_columns(factory, Household, household_id, status=HouseholdStatus.closed)
    await track_once(state)
    mine = await _mine(client, reporter, report["id"])
    assert (mine["progress"], mine["progress_label"]) == ("closed", "종결")
    await deliver_once(state)

    sent = await _notifications(factory, reporter.user.id)
    assert [n.template for n in sent] == [
        "reports.notice.visited",
        "reports.notice.support_linked",
        "reports.notice.closed",
    ]
    assert {n.status for n in sent} == {NotificationStatus.sent}
    assert await _status_events(factory, report["id"]) == ["visited", "support_linked", "closed"]
    staff = (await client.get(f"/v1/reports/{report['id']}", headers=coordinator.headers)).json()
    assert (staff["progress"], staff["notified_progress"]) == ("closed", "closed")

    # the log provider wrote a line per notification, with nothing personal in any line
    assert sum('"notification_sent"' in line for line in lines.lines) == 3
    for line in lines.lines:
        for personal in (PHONE, PHONE.replace("-", ""), SUBJECT, reporter.user.display_name):
            assert personal not in line


async def test_a_dismissed_report_is_closed_and_told_once(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, _planner, reporter = await _people(factory)
    report = await _report(client, reporter)
    r = await client.post(
        f"/v1/reports/{report['id']}/triage",
        json={"decision": "dismiss", "reason": "중복 제보"},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert (await _mine(client, reporter, report["id"]))["progress"] == "closed"
    await track_once(factory.state)
    await track_once(factory.state)
    [notice] = await _notifications(factory, reporter.user.id)
    assert notice.template == "reports.notice.closed"
    assert notice.params == {"date": notice.params["date"]}  # only the day of the report
    listed = (await client.get("/v1/reports", headers=reporter.headers)).json()["items"]
    assert [(i["id"], i["progress"]) for i in listed] == [(report["id"], "closed")]


async def test_one_notification_per_key_and_failures_retry_then_give_up(factory: Factory) -> None:
    from app.notify.config import NotifySettings
    from app.notify.providers import LogNotifier, SendFailed

    reporter = await factory.user(Role.reporter)
    key = f"test:{uuid.uuid4()}"
    async with factory.maker() as s:
        for _ in range(2):
            await enqueue(
                s,
                recipient_id=reporter.id,
                dedupe_key=key,
                template="reports.notice.visited",
                params={"date": "2026-12-01"},
            )
        await s.commit()
    assert len(await _notifications(factory, reporter.id)) == 1

    class Refusing(LogNotifier):
        name = "refusing"

        async def send(self, recipient: Any, message: Any) -> str:
            raise SendFailed("http-503")

    state = factory.state
    with (
        state.override(NOTIFY_SETTINGS, NotifySettings(max_attempts=2, backoff_seconds=0.001)),
        state.override(NOTIFIER, Refusing()),
    ):
        assert await deliver_once(state) == 0  # failed once, retried later
        [n] = await _notifications(factory, reporter.id)
        assert (n.status, n.attempts, n.last_error) == (NotificationStatus.pending, 1, "http-503")
        import asyncio

        await asyncio.sleep(0.01)
        assert await deliver_once(state) == 1  # given up
        [n] = await _notifications(factory, reporter.id)
        assert (n.status, n.attempts) == (NotificationStatus.failed, 2)


async def test_sms_and_kakao_providers_speak_http_without_logging_numbers() -> None:
    """The HTTP providers against a gateway served in-process (an ASGI app behind httpx)."""
    from app.notify.config import NotifySettings
    from app.notify.providers import KakaoNotifier, Message, Recipient, SendFailed, SmsNotifier, notifier_for

    seen: list[tuple[dict[str, Any], dict[str, str]]] = []
    gateway = FastAPI()

    @gateway.post("/send")
    async def send(request: Request) -> dict[str, str]:
        seen.append((await request.json(), dict(request.headers)))
        return {"id": f"gw-{len(seen)}"}

    settings = NotifySettings(
        provider="sms",
        sms_url="http://gateway/send",
        sms_api_key="k-123",  # type: ignore[arg-type]
        sms_sender="0212345678",
        kakao_url="http://gateway/send",
        kakao_api_key="k-456",  # type: ignore[arg-type]
        kakao_sender_key="sender-1",
        kakao_template_code="ONGI_REPORT",
    )
    message = Message(id=str(uuid.uuid4()), template="reports.notice.visited", text="[온기] 방문을 마쳤습니다.")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway)) as client:
        sms = SmsNotifier(settings, client)
        assert await sms.send(Recipient("u1", PHONE), message) == "gw-1"
        kakao = KakaoNotifier(settings, client)
        assert await kakao.send(Recipient("u1", PHONE), message) == "gw-2"
        with pytest.raises(SendFailed) as no_address:
            await sms.send(Recipient("u2", None), message)
    assert no_address.value.permanent
    (sms_body, sms_headers), (kakao_body, kakao_headers) = seen
    assert kakao_headers["authorization"] == "Bearer k-456"
    assert sms_body == {"from": "0212345678", "to": "01007774321", "text": message.text, "idempotency_key": message.id}
    assert sms_headers["authorization"] == "Bearer k-123"
    assert sms_headers["idempotency-key"] == message.id
    assert (kakao_body["sender_key"], kakao_body["template_code"], kakao_body["to"]) == (
        "sender-1",
        "ONGI_REPORT",
        "01007774321",
    )
    assert PHONE not in repr(Recipient("u1", PHONE))
    assert notifier_for(NotifySettings(), "development").name == "log"
    with pytest.raises(ValueError, match="production"):
        notifier_for(NotifySettings(), "production")


async def test_concurrent_workers_tell_each_move_exactly_once(db_kind: str, tmp_path: Any) -> None:
    """Three workers' rounds at once, on a database committing for real: one notice, sent once."""
    import asyncio

    from app.notify.providers import LogNotifier
    from tests.support.live import own_app

    sent: list[str] = []

    class Counting(LogNotifier):
        async def send(self, recipient: Any, message: Any) -> str:
            sent.append(message.id)
            await asyncio.sleep(0.05)  # a slow gateway: the rounds overlap
            return await super().send(recipient, message)

    async with own_app(db_kind, tmp_path) as app:
        state = app.state.ongi
        state.set(NOTIFIER, Counting())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            factory = Factory(state, state.sessionmaker, client)
            coordinator, planner, reporter = await _people(factory)
            report = await _report(client, reporter)
            r = await client.post(
                f"/v1/reports/{report['id']}/triage",
                json={"decision": "household", "create_new": True},
                headers=coordinator.headers,
            )
            async with factory.maker() as s:
                household = await s.get(Household, uuid.UUID(r.json()["household"]["id"]))
            visit = await make_visit(factory, household, [planner.user])
            for to in ("in_progress", "completed"):
                assert (
                    await client.post(f"/v1/visits/{visit.id}/transitions", json={"to": to}, headers=planner.headers)
                ).status_code == 200
            await asyncio.gather(*(track_once(state) for _ in range(3)))
            await asyncio.gather(*(deliver_once(state) for _ in range(3)))
            notices = await _notifications(factory, reporter.user.id)
            assert [(n.template, n.status, n.attempts) for n in notices] == [
                ("reports.notice.visited", NotificationStatus.sent, 1)
            ]
            assert sent == [str(notices[0].id)]
            assert await _status_events(factory, report["id"]) == ["visited"]
