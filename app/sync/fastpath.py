"""``GET /v1/sync/pull`` when nothing is new, answered below the router (docs/performance.md#budget: p50 ≤ 5 ms, ≥
800/s).

Phones poll; almost every pull finds nothing new. This pure-ASGI layer answers that case with one
statement that checks the caller's session, device, user and organization (as
:func:`app.auth.service.resolve_principal` does) and reads the device's sync state beside the change
counter. Anything else (no cursor, a bad or foreign cursor, an invalid token, a revoked device, something
new, a lease to renew, a new day) falls through to the full route, which answers it, errors included, so
the two paths cannot disagree on anything but speed. It sits inside the request-context middleware (request
id, access log, metrics, ``Server-Timing``) and CORS.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from urllib.parse import parse_qsl

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from starlette.types import ASGIApp, Receive, Scope, Send

from app.access.sync import may_sync_role
from app.auth.models import AuthSession, Device, Organization, User
from app.core.db import AUTOCOMMIT_READ_OPTION, utcnow
from app.core.security import InvalidToken
from app.core.state import AppState
from app.sync.cursor import Cursor, nothing_new
from app.sync.models import ChangeCounter, DeviceSyncState

PATH = "/v1/sync/pull"

_STATE = (
    select(
        col(User.role),
        col(User.active),
        col(Organization.active),
        col(AuthSession.revoked_at),
        col(AuthSession.device_id),
        col(Device.revoked_at),
        col(DeviceSyncState.batch),
        col(DeviceSyncState.has_more),
        col(DeviceSyncState.checksum),
        col(DeviceSyncState.renew_after),
        select(col(ChangeCounter.value)).where(col(ChangeCounter.id) == 1).scalar_subquery(),
    )
    .select_from(AuthSession)
    .join(User, col(User.id) == col(AuthSession.user_id))
    .join(Organization, col(Organization.id) == col(User.organization_id))
    .outerjoin(Device, col(Device.id) == col(AuthSession.device_id))
    .outerjoin(DeviceSyncState, col(DeviceSyncState.device_id) == col(AuthSession.device_id))
    .where(col(AuthSession.id) == bindparam("sid"), col(AuthSession.user_id) == bindparam("uid"))
)

_ROUTE = SimpleNamespace(path_format=PATH)


class EmptyPullFastPath:
    def __init__(self, app: ASGIApp, *, state: AppState) -> None:
        self.app = app
        self.state = state
        # One statement is its own snapshot: no BEGIN/COMMIT round trips.
        sqlite = state.engine.dialect.name == "sqlite"
        self._read_options = {AUTOCOMMIT_READ_OPTION: True} if sqlite else {"isolation_level": "AUTOCOMMIT"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            body = await self._answer(scope)
            if body is not None:
                scope["route"] = _ROUTE
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        """The empty answer, or ``None`` to let the full route decide."""
        raw_cursor = None
        for key, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            if key == "cursor":
                if raw_cursor is not None:
                    return None
                raw_cursor = value
            elif key == "limit" and not (value.isdigit() and 1 <= int(value) <= 2000):
                return None
        if not raw_cursor or len(raw_cursor) > 300:
            return None
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credentials:
                    token = credentials
                break
        if token is None:
            return None
        state = self.state
        try:
            claims = state.security.decode_access_token(token)
            user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
        except (InvalidToken, KeyError, ValueError, TypeError):
            return None
        cursor = Cursor.decode(state, raw_cursor)
        if cursor is None:
            return None
        params = {"sid": session_id, "uid": user_id}
        try:
            bind = state.sessionmaker.kw.get("bind") or state.engine
            if isinstance(bind, AsyncConnection):  # the suite's one outer transaction, shared by all sessions
                row = (await bind.execute(_STATE, params)).first()
            else:
                async with bind.connect() as conn:
                    conn = await conn.execution_options(**self._read_options)
                    row = (await conn.execute(_STATE, params)).first()
        except Exception:  # the full route answers (a 503 problem if the database is down)
            return None
        if row is None:
            return None
        role, user_active, org_active, session_revoked, device_id, device_revoked = row[:6]
        batch, has_more, checksum, renew_after, seq = row[6:]
        if (
            not (user_active and org_active)
            or session_revoked is not None
            or device_revoked is not None
            or device_id is None
            or device_id != cursor.device_id
            or not may_sync_role(getattr(role, "value", role))
            or batch is None
        ):
            return None
        now = utcnow()
        if not nothing_new(
            cursor,
            batch=batch,
            has_more=has_more,
            seq=int(seq or 0),
            renew_after=renew_after,
            now=now,
            today=now.astimezone(state.settings.tz).date().isoformat(),
        ):
            return None
        state.metrics.sync_pulls.labels("fast").inc()
        structlog.contextvars.bind_contextvars(actor=str(user_id), role=getattr(role, "value", role))
        body = {"cursor": raw_cursor, "has_more": False, "checksum": checksum, "changes": []}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
