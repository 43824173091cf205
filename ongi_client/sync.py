"""A phone's side of Ongi sync: a local SQLite store, an outbox of mutations, and the sync loop.

Usage::

    async with httpx.AsyncClient(base_url="http://127.0.0.1:8000") as http:
        phone = SyncClient("phone.db", http, device_id="galaxy-01", device_name="Galaxy S24")
        await phone.login("planner", "ongi-demo")
        await phone.sync()                      # first, full sync
        visit = phone.all("visit")[0]
        phone.transition_visit(visit["id"], "in_progress")   # works offline: goes to the outbox
        phone.add_note(visit_id=visit["id"], body="보일러 고장, 난방 필요", kind="observation")
        phone.complete_task(phone.all("task")[0]["id"], "reached_by_phone")  # a cold-wave check
        await phone.sync()                      # push the outbox, then pull

What it does, as the phone app must:

* **Edits offline.** Every edit is applied to the local store at once and queued in the outbox with a
  fresh ``mutation_id`` and the ``base_version`` the edit was made on.
* **Pushes safely.** The outbox is pushed in order, at most 500 mutations a request; a mutation leaves
  the outbox only when a result came back (``applied``, ``duplicate``, ``conflict`` or ``rejected``), so a
  push cut off mid-way is simply sent again (the server applies each mutation id once).
* **Pulls until done.** Pages are applied in order; the cursor is saved after each page. ``revoke``
  purges the record and is acknowledged (``POST /v1/sync/ack``); ``delete`` removes it; records whose
  ``hold_until`` lease passed are purged even offline (:meth:`purge_expired`).
* **Detects drift.** After a pull the local checksum must equal the server's; otherwise it starts a full
  sync. A ``410`` (cursor can no longer be served) also starts a full sync.
* **Wipes when told.** A ``401`` with ``"wipe": true`` (the device was revoked) erases the local store
  and raises :class:`DeviceWiped`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

MAX_MUTATIONS = 500


class DeviceWiped(Exception):
    """The server revoked this device; the local store was erased."""


class SyncError(Exception):
    pass


@dataclass
class SyncReport:
    pushed: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    received: int = 0
    revoked: int = 0
    full_sync: bool = False

    def by_status(self, status: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] == status]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SyncClient:
    def __init__(self, path: str | Path, http: httpx.AsyncClient, *, device_id: str, device_name: str = "") -> None:
        self.http = http
        self.device_id = device_id
        self.device_name = device_name
        self.db = sqlite3.connect(str(path))
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS record (entity TEXT, id TEXT, version INTEGER, data TEXT,
                                               hold_until TEXT, PRIMARY KEY (entity, id));
            CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, mutation_id TEXT UNIQUE,
                                               body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS result (mutation_id TEXT PRIMARY KEY, body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
            """
        )
        self.db.commit()

    # --- session ------------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        self.db.commit()

    async def login(self, username: str, password: str) -> None:
        r = await self.http.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": password,
                "device_id": self.device_id,
                "device_name": self.device_name,
            },
        )
        self._check(r)
        self._store_tokens(r.json())

    def _store_tokens(self, body: dict[str, Any]) -> None:
        self._set_meta("access_token", body["access_token"])
        self._set_meta("refresh_token", body.get("refresh_token"))

    async def _refresh(self) -> bool:
        token = self._meta("refresh_token")
        if not token:
            return False
        r = await self.http.post("/v1/auth/refresh", data={"refresh_token": token})
        if r.status_code == 200:
            self._store_tokens(r.json())
            return True
        self._check(r)
        return False

    async def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._meta('access_token') or ''}"}
            r = await self.http.request(method, url, headers=headers, **kw)
            if r.status_code == 401 and attempt == 0 and not self._is_wipe(r) and await self._refresh():
                continue
            self._check(r)
            return r
        raise SyncError("unauthorized")

    @staticmethod
    def _is_wipe(r: httpx.Response) -> bool:
        # 401 problem from any request; 400 invalid_grant (RFC 6749) from a login at /v1/auth/token
        if r.status_code not in (400, 401) or "json" not in r.headers.get("content-type", ""):
            return False
        return bool(r.json().get("wipe"))

    def _check(self, r: httpx.Response) -> None:
        if self._is_wipe(r):
            self.wipe()
            body = r.json()
            raise DeviceWiped(body.get("detail") or body.get("error_description") or "device revoked")

    def wipe(self) -> None:
        for table in ("record", "outbox", "result", "meta"):
            self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self.db.commit()

    # --- local store ---------------------------------------------------------------------------------
    # ``record`` holds exactly what the server sent; what the user sees is that with the pending outbox
    # mutations laid over it, so a rejected mutation simply disappears from the view when its result
    # comes back, and the checksum always speaks of server data.

    def _server(self, entity: str, id_: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM record WHERE entity = ? AND id = ?", (entity, id_)).fetchone()
        return json.loads(row[0]) if row else None

    def get(self, entity: str, id_: str | uuid.UUID) -> dict[str, Any] | None:
        """The record as the user sees it: server data with pending edits applied."""
        key = str(id_)
        data = self._server(entity, key)
        for m in self.pending():
            if m["entity"] != entity or m["id"] != key:
                continue
            data = _overlay(data, m)
        return data

    def version(self, entity: str, id_: str | uuid.UUID) -> int | None:
        row = self.db.execute("SELECT version FROM record WHERE entity = ? AND id = ?", (entity, str(id_))).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def all(self, entity: str) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM record WHERE entity = ?", (entity,)).fetchall()]
        ids += [m["id"] for m in self.pending() if m["entity"] == entity and m["id"] not in ids]
        out = [self.get(entity, i) for i in sorted(set(ids))]
        return [r for r in out if r is not None]

    def _put(self, entity: str, id_: str, version: int | None, data: dict[str, Any], hold_until: str | None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO record (entity, id, version, data, hold_until) VALUES (?, ?, ?, ?, ?)",
            (entity, id_, version, json.dumps(data, ensure_ascii=False), hold_until),
        )

    def _drop(self, entity: str, id_: str) -> None:
        self.db.execute("DELETE FROM record WHERE entity = ? AND id = ?", (entity, id_))

    def checksum(self) -> str:
        """The sum, modulo 2**64, of the first 8 bytes of sha256("entity:id:version") of every record held
        (big-endian), as 16 hex digits: order does not matter (docs/sync.md)."""
        total = 0
        for entity, id_, version in self.db.execute("SELECT entity, id, version FROM record"):
            digest = hashlib.sha256(f"{entity}:{str(id_).lower()}:{version}".encode()).digest()
            total += int.from_bytes(digest[:8], "big")
        return f"{total % 2**64:016x}"

    def purge_expired(self, now: datetime | None = None) -> int:
        """Erase records whose lease ran out (the phone must, even if it never syncs again)."""
        moment = (now or datetime.now(UTC)).isoformat()
        cur = self.db.execute("DELETE FROM record WHERE hold_until IS NOT NULL AND hold_until < ?", (moment,))
        self.db.commit()
        return cur.rowcount

    # --- offline edits ------------------------------------------------------------------------------
    def _enqueue(self, entity: str, op: str, id_: str, data: dict[str, Any] | None, base_version: int | None) -> str:
        mutation_id = str(uuid.uuid4())
        body = {
            "mutation_id": mutation_id,
            "entity": entity,
            "op": op,
            "id": id_,
            "base_version": base_version,
            "data": data,
            "at": _now(),
        }
        self.db.execute("INSERT INTO outbox (mutation_id, body) VALUES (?, ?)", (mutation_id, json.dumps(body)))
        self.db.commit()
        return mutation_id

    def pending(self) -> list[dict[str, Any]]:
        return [json.loads(b) for (b,) in self.db.execute("SELECT body FROM outbox ORDER BY seq").fetchall()]

    def patch_household(self, household_id: str, **fields: Any) -> str:
        return self._enqueue("household", "patch", household_id, fields, self.version("household", household_id))

    def transition_visit(
        self, visit_id: str, to: str, outcome: str | None = None, location: dict[str, Any] | None = None
    ) -> str:
        data: dict[str, Any] = {"to": to}
        if outcome is not None:
            data["outcome"] = outcome
        if location is not None:
            data["location"] = location
        return self._enqueue("visit", "transition", visit_id, data, self.version("visit", visit_id))

    def add_note(
        self,
        *,
        body: str,
        kind: str = "observation",
        internal: bool = False,
        visit_id: str | None = None,
        household_id: str | None = None,
        case_id: str | None = None,
        note_id: str | None = None,
    ) -> str:
        note_id = note_id or str(uuid.uuid4())
        data: dict[str, Any] = {"body": body, "kind": kind, "internal": internal}
        for name, value in (("visit_id", visit_id), ("household_id", household_id), ("case_id", case_id)):
            if value is not None:
                data[name] = value
        self._enqueue("note", "upsert", note_id, data, None)
        return note_id

    def edit_note(self, note_id: str, body: str) -> str:
        current = self.get("note", note_id) or {}
        data = {
            k: current[k]
            for k in ("visit_id", "household_id", "case_id", "kind", "internal")
            if current.get(k) is not None
        }
        return self._enqueue("note", "upsert", note_id, {**data, "body": body}, self.version("note", note_id))

    def delete_note(self, note_id: str) -> str:
        return self._enqueue("note", "delete", note_id, None, self.version("note", note_id))

    def record_contact_attempt(
        self,
        household_id: str,
        *,
        method: str,
        outcome: str,
        note: str | None = None,
        attempt_id: str | None = None,
    ) -> str:
        """A contact attempt made now (``method``: phone, visit, letter, registered_mail, neighbour, fact_check;
        ``outcome``: reached, no_answer, moved, wrong_number, refused); returns its id. Sent at the next push."""
        attempt_id = attempt_id or str(uuid.uuid4())
        data: dict[str, Any] = {"household_id": household_id, "method": method, "outcome": outcome, "at": _now()}
        if note is not None:
            data["note"] = note
        self._enqueue("contact_attempt", "upsert", attempt_id, data, None)
        return attempt_id

    def complete_task(self, task_id: str, outcome: str, note: str | None = None) -> str:
        """Complete a check task (``outcome``: reached_by_phone, visited, unreachable, hospitalised, moved). Sent at
        the next push; the first completion wins, so a task another device completed first answers ``conflict``
        with the server's state, and the next pull brings that state."""
        data: dict[str, Any] = {"outcome": outcome}
        if note is not None:
            data["note"] = note
        return self._enqueue("task", "complete", task_id, data, self.version("task", task_id))

    def answer_checklist(
        self, response_id: str, *, visit_id: str, template_key: str, template_version: int, answers: dict[str, Any]
    ) -> str:
        stamped = {k: {"value": v, "answered_at": _now()} for k, v in answers.items()}
        return self._enqueue(
            "checklist_response",
            "upsert",
            response_id,
            {
                "visit_id": visit_id,
                "template_key": template_key,
                "template_version": template_version,
                "answers": stamped,
            },
            self.version("checklist_response", response_id),
        )

    def result_of(self, mutation_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM result WHERE mutation_id = ?", (mutation_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- sync ---------------------------------------------------------------------------------------
    async def push(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        while True:
            batch = self.pending()[:MAX_MUTATIONS]
            if not batch:
                return report
            r = await self._request(
                "POST", "/v1/sync/push", json={"device_id": self.device_id, "device_time": _now(), "mutations": batch}
            )
            if r.status_code != 200:
                raise SyncError(f"push failed: {r.status_code} {r.text[:200]}")
            results = r.json()["results"]
            for result in results:
                self.db.execute(
                    "INSERT OR REPLACE INTO result (mutation_id, body) VALUES (?, ?)",
                    (result["mutation_id"], json.dumps(result)),
                )
                self.db.execute("DELETE FROM outbox WHERE mutation_id = ?", (result["mutation_id"],))
            self.db.commit()
            report.pushed += len(results)
            report.results.extend(results)

    async def pull(self, report: SyncReport | None = None, *, limit: int = 500) -> SyncReport:
        report = report or SyncReport()
        for _ in range(10_000):
            cursor = self._meta("cursor")
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            r = await self._request("GET", "/v1/sync/pull", params=params)
            if r.status_code == 410:
                self._set_meta("cursor", None)
                report.full_sync = True
                continue
            if r.status_code != 200:
                raise SyncError(f"pull failed: {r.status_code} {r.text[:200]}")
            body = r.json()
            if cursor is None:
                report.full_sync = True
                self.db.execute("DELETE FROM record")
            revoked = []
            for change in body["changes"]:
                entity, id_ = change["entity"], change["id"]
                if change["op"] == "upsert":
                    self._put(entity, id_, change["version"], change["data"], change.get("hold_until"))
                else:
                    self._drop(entity, id_)
                    if change["op"] == "revoke":
                        revoked.append({"entity": entity, "id": id_})
            if body.get("hold_until"):
                self.db.execute("UPDATE record SET hold_until = ?", (body["hold_until"],))
            self.db.commit()
            self._set_meta("cursor", body["cursor"])
            report.received += len(body["changes"])
            if revoked:
                await self._request("POST", "/v1/sync/ack", json={"device_id": self.device_id, "purged": revoked})
                report.revoked += len(revoked)
            if not body["has_more"]:
                if self.checksum() != body["checksum"]:
                    # Drift: what we hold differs from what the server believes. Start over.
                    self._set_meta("cursor", None)
                    report.full_sync = True
                    continue
                return report
        raise SyncError("pull did not finish")

    async def sync(self) -> SyncReport:
        """Push the outbox, then pull until up to date."""
        report = SyncReport()
        self.purge_expired()
        await self.push(report)
        await self.pull(report)
        return report


def _overlay(data: dict[str, Any] | None, m: dict[str, Any]) -> dict[str, Any] | None:
    """One pending mutation laid over the server's record."""
    payload = m.get("data") or {}
    if m["entity"] == "note" and m["op"] == "delete":
        return None
    if m["op"] == "transition":
        return {
            **(data or {}),
            "status": payload["to"],
            **({"outcome": payload["outcome"]} if "outcome" in payload else {}),
        }
    if m["entity"] == "checklist_response":
        base = data or {"id": m["id"], "answers": {}}
        merged = {**base.get("answers", {}), **payload.get("answers", {})}
        return {**base, **{k: v for k, v in payload.items() if k != "answers"}, "answers": merged}
    return {**(data or {"id": m["id"]}), **payload}
