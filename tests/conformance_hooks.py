"""Schemathesis hooks for tests/test_conformance.py, loaded by the ``schemathesis`` command that test runs
(``SCHEMATHESIS_HOOKS=tests.conformance_hooks``); never imported by pytest itself, so the global auth
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


def _token_form() -> dict[str, str]:
    env = os.environ
    if env.get("ONGI_CONFORMANCE_CLIENT_ID"):
        return {
            "grant_type": "client_credentials",
            "client_id": env["ONGI_CONFORMANCE_CLIENT_ID"],
            "client_secret": env["ONGI_CONFORMANCE_CLIENT_SECRET"],
        }
    return {
        "grant_type": "password",
        "username": env["ONGI_CONFORMANCE_USERNAME"],
        "password": env["ONGI_CONFORMANCE_PASSWORD"],
        "device_id": f"conformance-{env['ONGI_CONFORMANCE_USERNAME']}",
        "device_name": "schemathesis",
    }


@schemathesis.auth(refresh_interval=600)
class OngiToken:
    def get(self, case: Any, ctx: Any) -> str:
        # a busy machine, or the login throttle that the run's own bad logins (same username) set off: wait as
        # told and try again, a few times
        for _ in range(6):
            r = httpx.post(os.environ["ONGI_CONFORMANCE_BASE"] + "/v1/auth/token", data=_token_form(), timeout=30)
            if r.status_code not in (429, 503):
                break
            time.sleep(min(float(r.headers.get("retry-after") or 1), 10))
        r.raise_for_status()
        return str(r.json()["access_token"])

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
