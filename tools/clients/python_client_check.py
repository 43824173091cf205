"""A client developer's program against Ongi through the client that openapi-python-client generated, unmodified,
from the service's document (the package ``ongi_api`` on PYTHONPATH). Run by tests/test_generated_clients.py
with the tool venv's Python against a live server; prints one JSON line of what it saw, and fails on the
first answer the generated code could not parse into the document's types.

Usage: ``python python_client_check.py BASE_URL USERNAME PASSWORD``
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from ongi_api import AuthenticatedClient, Client
from ongi_api.api.auth import create_token, get_me
from ongi_api.api.sync import pull_changes, push_mutations
from ongi_api.api.visits import get_visit, list_visits
from ongi_api.models import CreateTokenForm, Problem, PullResponse, PushRequest, TokenResponse, ValidationProblem


def login(base: str, form: dict[str, str]) -> TokenResponse:
    with Client(base_url=base) as anonymous:
        token = create_token.sync(client=anonymous, body=CreateTokenForm.from_dict(form))
    if not isinstance(token, TokenResponse):
        raise SystemExit(f"token endpoint answered {token!r}")
    return token


def main(base: str, username: str, password: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    device = {"device_id": "generated-python", "device_name": "openapi-python-client"}
    token = login(base, {"grant_type": "password", "username": username, "password": password, **device})
    seen["login"] = {"expires_in": token.expires_in, "has_refresh": isinstance(token.refresh_token, str)}

    with AuthenticatedClient(base_url=base, token=token.access_token) as client:
        page = list_visits.sync(client=client, assignee="me", status=None, limit=20)
        if isinstance(page, Problem | ValidationProblem) or page is None:
            raise SystemExit(f"list visits answered {page!r}")
        seen["visits"] = len(page.items)
        visit_id = page.items[0].id

        filtered = list_visits.sync(client=client, assignee="me", overdue=False, from_="2000-01-01", limit=5)
        if isinstance(filtered, Problem | ValidationProblem) or filtered is None:
            raise SystemExit(f"list visits with from answered {filtered!r}")
        seen["filtered"] = len(filtered.items)

        missing = get_visit.sync(uuid.uuid4(), client=client)
        if not isinstance(missing, Problem):
            raise SystemExit(f"a random visit id answered {missing!r}")
        seen["not_found"] = {"class": type(missing).__name__, "status": missing.status, "type": missing.type_}

        invalid = list_visits.sync(client=client, from_="not-a-day")
        if not isinstance(invalid, ValidationProblem):
            raise SystemExit(f"from=not-a-day answered {invalid!r}")
        seen["invalid"] = {
            "class": type(invalid).__name__,
            "status": invalid.status,
            "detail": invalid.detail,
            "fields": [e.field for e in invalid.errors],
        }

        pulled = pull_changes.sync(client=client, limit=100)
        if not isinstance(pulled, PullResponse):
            raise SystemExit(f"pull answered {pulled!r}")
        seen["pull"] = {"changes": len(pulled.changes), "has_cursor": bool(pulled.cursor)}

        note_id = str(uuid.uuid4())
        mutation = {
            "mutation_id": str(uuid.uuid4()),
            "entity": "note",
            "op": "upsert",
            "id": note_id,
            "base_version": None,
            "data": {"visit_id": str(visit_id), "body": "현관 앞에서 통화함 (generated Python client)"},
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        pushed = push_mutations.sync(
            client=client, body=PushRequest.from_dict({"device_id": device["device_id"], "mutations": [mutation]})
        )
        if isinstance(pushed, Problem | ValidationProblem) or pushed is None:
            raise SystemExit(f"push answered {pushed!r}")
        seen["push"] = [str(r.status.value if hasattr(r.status, "value") else r.status) for r in pushed.results]
        seen["note_id"] = note_id

    refreshed = login(base, {"grant_type": "refresh_token", "refresh_token": str(token.refresh_token)})
    seen["refreshed"] = refreshed.access_token != token.access_token
    with AuthenticatedClient(base_url=base, token=refreshed.access_token) as client:
        me = get_me.sync(client=client)
        if isinstance(me, Problem) or me is None:
            raise SystemExit(f"me after refresh answered {me!r}")
        seen["me"] = me.username
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4]), ensure_ascii=False))
