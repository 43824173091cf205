"""Load client for scripts/bench (bench/run.py): runs in its own process against 127.0.0.1 and prints one JSON line.

Phases: first full sync per worker, empty pulls (latency and throughput), 200-mutation pushes, 60 devices
syncing together, and (``--phase upload``) a 20 MiB photo through tus in 5 MiB chunks. Server time comes
from the ``Server-Timing`` header; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

PASSWORD = "ongi-demo"  # noqa: S105 - the generated district's password


def server_ms(r: httpx.Response) -> float:
    header = r.headers.get("server-timing", "")
    for part in header.split(","):
        if "dur=" in part:
            return float(part.split("dur=")[1])
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Device:
    def __init__(self, http: httpx.AsyncClient, username: str) -> None:
        self.http, self.username = http, username
        self.device_id = f"bench-{uuid.uuid4().hex[:10]}"
        self.token = ""
        self.cursor: str | None = None
        self.store: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def login(self) -> None:
        r = await self.http.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": self.username,
                "password": PASSWORD,
                "device_id": self.device_id,
            },
        )
        r.raise_for_status()
        self.token = r.json()["access_token"]

    async def pull_all(self, limit: int = 1000) -> tuple[float, float, int]:
        """(server ms, wall ms, changes) for pulling until up to date."""
        server, started, n = 0.0, time.perf_counter(), 0
        for _ in range(1000):
            params: dict[str, Any] = {"limit": limit}
            if self.cursor:
                params["cursor"] = self.cursor
            r = await self.http.get("/v1/sync/pull", params=params, headers=self.headers)
            r.raise_for_status()
            server += server_ms(r)
            body = r.json()
            for c in body["changes"]:
                if c["op"] == "upsert":
                    self.store[(c["entity"], c["id"])] = c
                else:
                    self.store.pop((c["entity"], c["id"]), None)
            n += len(body["changes"])
            self.cursor = body["cursor"]
            if not body["has_more"]:
                break
        return server, (time.perf_counter() - started) * 1000, n

    def of(self, entity: str) -> list[dict[str, Any]]:
        return [c for (e, _), c in self.store.items() if e == entity]

    def mutations(self, n: int, rng: random.Random) -> list[dict[str, Any]]:
        households = self.of("household")
        visits = [v for v in self.of("visit") if v["data"].get("household_id")]
        out: list[dict[str, Any]] = []
        now = datetime.now(UTC).isoformat()
        for i in range(n):
            kind = i % 2
            if kind == 0 and visits:
                v = rng.choice(visits)
                out.append(
                    {
                        "mutation_id": str(uuid.uuid4()),
                        "entity": "note",
                        "op": "upsert",
                        "id": str(uuid.uuid4()),
                        "base_version": None,
                        "at": now,
                        "data": {
                            "visit_id": v["id"],
                            "body": f"방문 기록 {i}: 난방 상태 확인, 식사 여부 확인",
                            "kind": "observation",
                            "internal": False,
                        },
                    }
                )
            elif households:
                h = rng.choice(households)
                out.append(
                    {
                        "mutation_id": str(uuid.uuid4()),
                        "entity": "household",
                        "op": "patch",
                        "id": h["id"],
                        "base_version": h["version"],
                        "at": now,
                        "data": {"living_situation": f"벤치마크 {i} {rng.random():.4f}"},
                    }
                )
        return out

    async def push(self, mutations: list[dict[str, Any]]) -> tuple[httpx.Response, list[dict[str, Any]]]:
        r = await self.http.post(
            "/v1/sync/push",
            headers=self.headers,
            json={"device_id": self.device_id, "device_time": datetime.now(UTC).isoformat(), "mutations": mutations},
        )
        r.raise_for_status()
        return r, r.json()["results"]


async def raw_hammer(base: str, devices: list[Device], *, connections: int, duration: float) -> tuple[int, int]:
    """Empty pulls over ``connections`` raw HTTP/1.1 keep-alive connections for ``duration`` seconds:
    (answers 200, other answers)."""
    from urllib.parse import urlencode, urlsplit

    host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80
    count, errors = 0, 0
    deadline = time.perf_counter() + duration

    async def one(d: Device) -> None:
        nonlocal count, errors
        request = (
            f"GET /v1/sync/pull?{urlencode({'cursor': d.cursor})} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {d.token}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200 "):
                    count += 1
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(devices[i % len(devices)]) for i in range(connections)))
    return count, errors


async def field_users(http: httpx.AsyncClient) -> dict[str, list[str]]:
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": "admin", "password": PASSWORD})
    r.raise_for_status()
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    out: dict[str, list[str]] = {"planner": [], "partner": []}
    for role in out:
        cursor = None
        for _ in range(100):
            params: dict[str, Any] = {"role": role, "limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get("/v1/users", params=params, headers=headers)).json()
            out[role] += [u["username"] for u in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return out


async def sync_phases(base: str, short: bool, repeats: int) -> dict[str, Any]:
    rng = random.Random(11)
    res: dict[str, Any] = {}
    # Pooled connections expire before the server closes idle ones (uvicorn: 5 s), so that a request never
    # races the server closing the connection it was sent on.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        users = await field_users(http)
        workers = sorted(users["planner"])[: (5 if short else 10)] + sorted(users["partner"])[: (2 if short else 4)]

        # 1. first full sync of one worker's scope
        first_server, first_wall, sizes = [], [], []
        devices: list[Device] = []
        for name in workers:
            d = Device(http, name)
            await d.login()
            server, wall, n = await d.pull_all()
            first_server.append(server)
            first_wall.append(wall)
            sizes.append(n)
            devices.append(d)
        res["first_sync_p50_ms"] = round(statistics.median(first_server), 1)
        res["first_sync_wall_p50_ms"] = round(statistics.median(first_wall), 1)
        res["first_sync_records_p50"] = int(statistics.median(sizes))

        # 2. empty pulls: latency (sequential) and throughput (concurrent)
        d0 = devices[0]
        lat_server, lat_wall = [], []
        for _ in range(300 if short else 1000):
            t = time.perf_counter()
            r = await http.get("/v1/sync/pull", params={"cursor": d0.cursor}, headers=d0.headers)
            lat_wall.append((time.perf_counter() - t) * 1000)
            lat_server.append(server_ms(r))
            if r.status_code != 200 or r.json()["changes"]:
                raise RuntimeError(f"an empty pull was not empty: {r.text[:200]}")
        res["empty_pull_p50_ms"] = round(statistics.median(lat_server), 2)
        res["empty_pull_wall_p50_ms"] = round(statistics.median(lat_wall), 2)

        # Throughput from a lean keep-alive client (httpx costs more CPU per request than the server's
        # empty pull, and the client shares the machine's two cores with the server).
        duration = 5.0 if short else 15.0
        count, errors = await raw_hammer(base, devices, connections=32, duration=duration)
        res["empty_pull_rps"] = round(count / duration)
        res["empty_pull_errors"] = errors

        # 3. a day offline: 200 mutations in one push
        push_server, push_status = [], {}
        for i in range(repeats):
            d = devices[i % len(devices)]
            r, results = await d.push(d.mutations(200, rng))
            push_server.append(server_ms(r))
            for x in results:
                push_status[x["status"]] = push_status.get(x["status"], 0) + 1
            await d.pull_all()
        res["push200_ms"] = round(statistics.median(push_server), 1)
        res["push200_statuses"] = push_status

        # 4. 60 devices syncing together
        names = sorted(users["planner"])[:40] + sorted(users["partner"])[:20]
        fleet = [Device(http, n) for n in names]
        await asyncio.gather(*(d.login() for d in fleet))
        await asyncio.gather(*(d.pull_all() for d in fleet))
        load_for = 15.0 if short else 60.0
        lat: list[float] = []
        errs = 0
        kinds: dict[str, int] = {}
        stop_at = time.perf_counter() + load_for

        def count(kind: str) -> None:
            nonlocal errs
            errs += 1
            kinds[kind] = kinds.get(kind, 0) + 1

        async def device_loop(d: Device, seed: int) -> None:
            local = random.Random(seed)
            n = local.randrange(5)  # which of its five syncs pushes: devices do not push in lockstep
            while time.perf_counter() < stop_at:
                await asyncio.sleep(local.uniform(0.5, 1.5))
                t = time.perf_counter()
                try:
                    if n % 5 == 4:
                        _, results = await d.push(d.mutations(5, local))
                        for x in results:
                            if x["status"] == "rejected":
                                count(f"push rejected: {x.get('error', {}).get('type', '?').rsplit('/', 1)[-1]}")
                    else:
                        await d.pull_all()
                except httpx.HTTPStatusError as exc:
                    count(f"{exc.request.method} {exc.request.url.path}: {exc.response.status_code}")
                except httpx.HTTPError as exc:
                    count(type(exc).__name__)
                lat.append((time.perf_counter() - t) * 1000)
                n += 1

        await asyncio.gather(*(device_loop(d, i) for i, d in enumerate(fleet)))
        res["devices60_requests"] = len(lat)
        res["devices60_errors"] = errs
        res["devices60_error_kinds"] = kinds
        res["devices60_p50_ms"] = round(pct(lat, 0.5), 1)
        res["devices60_p99_ms"] = round(pct(lat, 0.99), 1)
    return res


def noise_png(target: int, seed: int = 0) -> bytes:
    from PIL import Image

    side = int((target / 3) ** 0.5) + 1
    rnd = random.Random(5 + seed)
    img = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def camera_jpeg(target: int, seed: int = 0) -> bytes:
    """A phone camera's photo of about ``target`` bytes: a 4:3 JPEG with EXIF (camera, time, GPS)."""
    from PIL import Image

    rnd = random.Random(5 + seed)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Samsung", "SM-S928N", "2026:12:03 09:41:00"  # make, model, time
    exif[0x0112] = 1  # orientation: upright
    exif[0x8825] = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}  # GPS
    width = 4000
    data = b""
    for _ in range(4):  # noise compresses to about one byte per pixel: size it, then correct once or twice
        height = width * 3 // 4
        img = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=92, exif=exif.tobytes())
        data = buf.getvalue()
        if abs(len(data) - target) < target * 0.03:
            break
        width = int(width * (target / len(data)) ** 0.5)
    return data


async def upload_phase(base: str, photo: str, server_pid: int | None, repeats: int) -> dict[str, Any]:
    """A 20 MiB photo through tus in 5 MiB chunks, ``repeats`` times (a different picture each time).
    Throughput counts from the creating POST to the final PATCH's answer (median); the server's memory is
    sampled from just before the POST until the photo is ready to read, processing included, after the
    login and pull that precede it (the largest growth of the runs)."""
    from bench._support import rss_mib

    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        users = await field_users(http)
        d = Device(http, sorted(users["planner"])[0])
        await d.login()
        await d.pull_all()
        visit = next(v for v in d.of("visit") if v["data"].get("household_id"))
        await asyncio.sleep(1.0)  # let the login's password hashing memory settle
        runs = []
        for i in range(repeats):
            target = 20 * 1024 * 1024
            data = camera_jpeg(target, seed=i) if photo == "jpeg" else noise_png(target, seed=i)
            run = await _upload_once(http, d, visit["id"], photo, data, server_pid, rss_mib)
            if "upload_error" in run:
                return run
            runs.append(run)
    speeds = [r["mib_s"] for r in runs]
    ready = [r["ready_ms"] for r in runs if r["ready_ms"] is not None]
    out: dict[str, Any] = {
        "upload_photo": photo,
        "upload_mib_s": round(statistics.median(speeds), 1),
        "upload_mib_s_runs": speeds,
        "upload_bytes": len(data),
        "upload_ready_after_ms": round(statistics.median(ready), 1) if ready else None,
    }
    if server_pid:
        out["upload_rss_growth_mib"] = max(r["growth"] for r in runs)
    return out


async def _upload_once(
    http: httpx.AsyncClient,
    d: Device,
    visit_id: str,
    photo: str,
    data: bytes,
    server_pid: int | None,
    rss_mib: Any,
) -> dict[str, Any]:
    import threading

    chunk = 5 * 1024 * 1024
    photo_id = str(uuid.uuid4())

    def b64(x: str) -> str:
        return base64.b64encode(x.encode()).decode()

    meta = ",".join(
        [
            f"photo_id {b64(photo_id)}",
            f"visit_id {b64(visit_id)}",
            f"filename {b64('photo.jpg' if photo == 'jpeg' else 'noise.png')}",
            f"filetype {b64('image/jpeg' if photo == 'jpeg' else 'image/png')}",
            f"sha256 {b64(hashlib.sha256(data).hexdigest())}",
        ]
    )
    sampled = {"before": rss_mib(server_pid) if server_pid else 0.0, "peak": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            sampled["peak"] = max(sampled["peak"], rss_mib(server_pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    if server_pid:
        sampler.start()
    tus = {"Tus-Resumable": "1.0.0", **d.headers}
    ready = None
    try:
        started = time.perf_counter()
        r = await http.post("/v1/uploads/", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
        if r.status_code != 201:
            return {"upload_error": f"{r.status_code} {r.text[:200]}"}
        location = r.headers["location"]
        offset = 0
        while offset < len(data):
            r = await http.patch(
                location,
                content=data[offset : offset + chunk],
                headers={**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            )
            if r.status_code != 204:
                return {"upload_error": f"{r.status_code} {r.text[:200]}"}
            offset = int(r.headers["upload-offset"])
        took = time.perf_counter() - started
        for _ in range(1000):  # bounded: at most about 20 s
            if (await http.get(f"/v1/photos/{photo_id}", headers=d.headers)).status_code == 200:
                ready = (time.perf_counter() - started - took) * 1000
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        if server_pid:
            sampler.join()
    return {
        "mib_s": round(len(data) / (1024 * 1024) / took, 1),
        "ready_ms": round(ready, 1) if ready is not None else None,
        "growth": round(max(0.0, sampled["peak"] - sampled["before"]), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--phase", choices=["sync", "upload"], default="sync")
    ap.add_argument("--photo", choices=["jpeg", "png"], default="jpeg", help="a camera JPEG or a noise PNG")
    ap.add_argument("--server-pid", type=int, default=None, help="sample this server's memory around the upload")
    args = ap.parse_args()
    if not args.base.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("the load client only targets loopback")
    if args.phase == "upload":
        out = asyncio.run(upload_phase(args.base, args.photo, args.server_pid, min(args.repeats, 5)))
    else:
        out = asyncio.run(sync_phases(args.base, args.short, args.repeats))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
