"""Helpers for sync tests: one push answered 200, and a phone that pulls until done and applies what it gets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.factories import Actor


async def push(client: httpx.AsyncClient, actor: Actor, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``POST /v1/sync/push`` of ``mutations`` from the actor's device, answered 200: the per-mutation results."""
    body = {"device_id": actor.device_id, "device_time": datetime.now(UTC).isoformat(), "mutations": mutations}
    r = await client.post("/v1/sync/push", json=body, headers=actor.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


@dataclass
class Phone:
    client: httpx.AsyncClient
    actor: Actor
    cursor: str | None = None
    store: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    purged: list[dict[str, str]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)

    async def pull_once(self, limit: int = 500) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if self.cursor:
            params["cursor"] = self.cursor
        r = await self.client.get("/v1/sync/pull", params=params, headers=self.actor.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        self.apply(body)
        return body

    def apply(self, body: dict[str, Any]) -> None:
        if self.cursor is None:
            self.store.clear()
        for change in body["changes"]:
            key = (change["entity"], change["id"])
            if change["op"] == "upsert":
                self.store[key] = {"version": change["version"], "data": change["data"]}
            else:
                self.store.pop(key, None)
                if change["op"] == "revoke":
                    self.purged.append({"entity": change["entity"], "id": change["id"]})
        self.cursor = body["cursor"]
        self.last = body

    async def sync(self, limit: int = 500) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        for _ in range(100):
            body = await self.pull_once(limit)
            changes += body["changes"]
            if not body["has_more"]:
                break
        assert self.checksum() == self.last["checksum"], "phone and server disagree"
        return changes

    async def ack(self) -> int:
        r = await self.client.post("/v1/sync/ack", json={"purged": self.purged}, headers=self.actor.headers)
        assert r.status_code == 200, r.text
        self.purged = []
        return int(r.json()["purged"])

    def checksum(self) -> str:
        """The additive checksum of docs/sync.md, computed here from scratch (not with the server's code)."""
        total = 0
        for (entity, eid), rec in self.store.items():
            digest = hashlib.sha256(f"{entity}:{eid}:{rec['version']}".encode()).digest()
            total += int.from_bytes(digest[:8], "big")
        return f"{total % 2**64:016x}"

    def ids(self, entity: str) -> set[str]:
        return {eid for (e, eid) in self.store if e == entity}
