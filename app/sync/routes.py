"""``/v1/sync/pull``, ``/v1/sync/push``, ``/v1/sync/ack`` (``docs/sync.md``). What a device holds, for an admin:
``GET /v1/devices/{id}/holdings`` in :mod:`app.people.routes` (the admin's bounds are the people domain's)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from app.auth.deps import CurrentPrincipal
from app.auth.models import Device
from app.core.deps import SessionDep, StateDep
from app.core.errors import NotFound, Problem
from app.core.times import json_default
from app.sync import pull as pull_service
from app.sync import push as push_service
from app.sync.schemas import (
    AckRequest,
    AckResponse,
    PullResponse,
    PushRequest,
    PushResponse,
)
from app.sync.scope import adapters
from app.sync.state import require_device

router = APIRouter(tags=["sync"])

# Every domain's sync declarations, read once as the app is made: a declaration error stops the start, and the
# domains' hooks (e.g. the household field stamps kept on every flush) are in place before the first request.
adapters()

_SYNC_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Token invalid; a revoked device gets `wipe: true`"},
    409: {"description": "The token is not bound to a device"},
}


def _json_default(value: object) -> str:
    return json_default(value)  # times with Z, as REST writes them


@router.get(
    "/v1/sync/pull",
    response_model=None,
    summary="Changes for this device since a cursor (no cursor: a full sync)",
    responses={
        200: {"model": PullResponse, "description": "Changes in commit order"},
        **_SYNC_ERRORS,
        410: {"description": "Cursor can no longer be served: start a full sync"},
    },
)
async def pull(
    principal: CurrentPrincipal,
    state: StateDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> Response:
    body = await pull_service.pull(state, session, principal, cursor, limit)
    # Built by the sync service in the documented shape; serialized directly (a first sync carries
    # hundreds of records, and validating them again would double the cost of the pull), by orjson (a thirtieth
    # of json.dumps's time for a page of notes); times still by json_default (UTC with Z, as REST writes them), and
    # keys that are not strings written as strings, as json.dumps did.
    content = orjson.dumps(
        body, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
    )
    return Response(content=content, media_type="application/json")


@router.post(
    "/v1/sync/push",
    response_model=PushResponse,
    response_model_exclude_none=True,
    summary="Apply the phone's mutations; one result per mutation, in order",
    responses={**_SYNC_ERRORS, 413: {"description": "More than 500 mutations or 5 MiB"}},
)
async def push(
    request: Request, body: PushRequest, principal: CurrentPrincipal, state: StateDep, session: SessionDep
) -> dict[str, object]:
    limit = state.settings.sync_max_mutations
    if len(await request.body()) > state.settings.sync_max_push_bytes or len(body.mutations) > limit:
        raise Problem(413, "payload-too-large", "detail.push-too-large", params={"limit": limit})
    device_id = require_device(principal)
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound()
    results = await push_service.push(state, session, principal, body, device.client_device_id)
    return {"results": results}


@router.post(
    "/v1/sync/ack",
    response_model=AckResponse,
    summary="Confirm that revoked records were erased",
    responses=_SYNC_ERRORS,
)
async def ack(body: AckRequest, principal: CurrentPrincipal, session: SessionDep) -> AckResponse:
    purged = [(p.entity, p.id) if not isinstance(p, uuid.UUID) else (None, p) for p in body.purged]
    return AckResponse(purged=await pull_service.ack(session, principal, purged))
