"""Schemathesis hooks for tests/api/test_conformance.py, loaded by the ``schemathesis`` command that test runs
(``SCHEMATHESIS_HOOKS=tests.support.conformance_hooks``); never imported by pytest itself, so the global auth
provider below cannot leak into other tests.

The caller is named by the environment: ``ONGI_CONFORMANCE_BASE`` (the live server), and either
``ONGI_CONFORMANCE_USERNAME``/``ONGI_CONFORMANCE_PASSWORD`` (password grant, with a device) or
``ONGI_CONFORMANCE_CLIENT_ID``/``ONGI_CONFORMANCE_CLIENT_SECRET`` (client credentials). The token is fetched
through ``POST /v1/auth/token`` as any OAuth2 client would, cached, and fetched again when an answer is 401
(schemathesis' reactive re-authentication): ``POST /v1/auth/logout`` ends the session the run is using, and
the run goes on with a new one.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import schemathesis


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """``POST /v1/integrations/households:bulk`` takes JSON lines."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return "\n".join(json.dumps(v) for v in value).encode()
    return json.dumps(value).encode()


@schemathesis.serializer("application/offset+octet-stream")
def _octets(ctx: Any, value: Any) -> bytes:
    """tus chunks (``PATCH /v1/uploads/{id}``): the bytes as they are."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


_logins = 0


def _token_form() -> dict[str, str]:
    global _logins
    env = os.environ
    if env.get("ONGI_CONFORMANCE_CLIENT_ID"):
        return {
            "grant_type": "client_credentials",
            "client_id": env["ONGI_CONFORMANCE_CLIENT_ID"],
            "client_secret": env["ONGI_CONFORMANCE_CLIENT_SECRET"],
        }
    # a new phone for every login: the run may revoke the device it is using (an administrator may), and a
    # revoked device never logs in again
    _logins += 1
    return {
        "grant_type": "password",
        "username": env["ONGI_CONFORMANCE_USERNAME"],
        "password": env["ONGI_CONFORMANCE_PASSWORD"],
        "device_id": f"conformance-{env['ONGI_CONFORMANCE_USERNAME']}-{os.getpid()}-{_logins}",
        "device_name": "schemathesis",
    }


def _restore() -> None:
    """Undo what an administrator's run did to its own, throwaway account (disabled it, changed its role or
    password), as the demo administrator the run never uses: ``ONGI_CONFORMANCE_RESTORE_*``."""
    env = os.environ
    base = env["ONGI_CONFORMANCE_BASE"]
    form = {
        "grant_type": "password",
        "username": env["ONGI_CONFORMANCE_RESTORE_USERNAME"],
        "password": env["ONGI_CONFORMANCE_RESTORE_PASSWORD"],
    }
    r = httpx.post(base + "/v1/auth/token", data=form, timeout=30)
    r.raise_for_status()
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    user = env["ONGI_CONFORMANCE_USER_ID"]
    patch = {"active": True, "role": "admin", "password": env["ONGI_CONFORMANCE_PASSWORD"]}
    httpx.patch(f"{base}/v1/users/{user}", json=patch, headers=headers, timeout=30).raise_for_status()


@schemathesis.auth(refresh_interval=600)
class OngiToken:
    def get(self, case: Any, ctx: Any) -> str:
        # a busy machine, or the login throttle that the run's own bad logins (same username) set off: wait as
        # told and try again, a few times
        restored = False
        for _ in range(6):
            r = httpx.post(os.environ["ONGI_CONFORMANCE_BASE"] + "/v1/auth/token", data=_token_form(), timeout=30)
            if r.status_code in (429, 503):
                time.sleep(min(float(r.headers.get("retry-after") or 1), 10))
                continue
            if r.status_code == 400 and not restored and os.environ.get("ONGI_CONFORMANCE_RESTORE_USERNAME"):
                _restore()
                restored = True
                continue
            break
        r.raise_for_status()
        return str(r.json()["access_token"])

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# --- values only the server can hand out --------------------------------------------------------------------
#
# Two request values are valid only when the server handed them out, and no schema can say which strings those
# are: an opaque page ``cursor`` (from ``next_cursor``) and an ``If-Match`` tag (the record's ``ETag``). A made-up
# cursor is refused (422 invalid-cursor) and a made-up tag fails its precondition (412), both as documented;
# positive_data_acceptance would count either as a valid request refused. So, for cases generated as *valid*
# only, the run does what a client does: it pages with a cursor the server gave (or asks for the first page)
# and writes with the ETag it read. Negative cases go out unchanged: a broken cursor must still be a 422.


def _auth(case: Any) -> dict[str, str]:
    headers = case.headers or {}
    return {k: v for k, v in headers.items() if k.lower() in ("authorization", "accept-language")}


_cursors: dict[tuple[str, str], str | None] = {}


def _served_cursor(case: Any, in_body: bool) -> str | None:
    """A ``next_cursor`` the server gives for a one-item first page of the same operation (cached)."""
    key = (case.method, case.formatted_path)
    if key not in _cursors:
        url = os.environ["ONGI_CONFORMANCE_BASE"] + case.formatted_path
        try:
            if in_body:
                r = httpx.request(case.method, url, json={"limit": 1}, headers=_auth(case), timeout=30)
            else:
                r = httpx.request(case.method, url, params={"limit": 1}, headers=_auth(case), timeout=30)
            body = r.json() if r.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            body = {}
        cursor = body.get("next_cursor") if isinstance(body, dict) else None
        _cursors[key] = cursor if isinstance(cursor, str) else None
    return _cursors[key]


def _current_etag(case: Any) -> str | None:
    """The ETag of the record the write names: ``GET`` of its path, or of the parent path for an action
    (``…/consents/{id}/withdraw``)."""
    path = case.formatted_path
    for candidate in (path, path.rsplit("/", 1)[0]):
        try:
            r = httpx.get(os.environ["ONGI_CONFORMANCE_BASE"] + candidate, headers=_auth(case), timeout=30)
        except httpx.HTTPError:
            return None
        if r.status_code == 200 and r.headers.get("etag"):
            return r.headers["etag"]
    return None


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    query = case.query or {}
    if isinstance(query.get("cursor"), str):
        cursor = _served_cursor(case, in_body=False)
        if cursor is None:
            del query["cursor"]
        else:
            query["cursor"] = cursor
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("cursor"), str):
        cursor = _served_cursor(case, in_body=True)
        if cursor is None:
            body.pop("cursor")
        else:
            body["cursor"] = cursor
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "if-match" and headers[name] != "*":
            tag = _current_etag(case)
            if tag is not None:
                headers[name] = tag
            else:  # no representation to read a tag from: an optional If-Match is left out, as a client would
                del headers[name]
