"""Measure a 20 MiB photo through tus (docs/performance.md#budget): throughput and the server's memory growth.

    .venv/bin/python -m bench.upload [--backend local|s3|both] [--runs 3]

Starts the service with uvicorn in its own process on 127.0.0.1 (SQLite and files in a temporary folder;
for S3, moto's S3-compatible server on 127.0.0.1), seeds a planner and a visit, and uploads each picture in
5 MiB chunks, stopping after two chunks and resuming after a HEAD, as a phone would. Three pictures of about
20 MiB: a noise JPEG stored turned (EXIF orientation 6: decoded, turned and re-encoded), one stored upright
(its data copied without the metadata), and a noise PNG like the one ``scripts/bench`` sends. Prints per
picture (median of the runs): the whole upload (creation to the last answer), the time until the photo is
processed, the transfer alone (the chunks before the last), the last chunk's server time, and the server's
peak resident memory above its level just before the upload.
Only loopback is used; every loop is bounded.

The last chunk's 204 comes once the bytes are stored and the whole file's sha256 and type are checked; the
picture is processed right after in the background. "whole upload" is creation to that 204 (what a phone
waits for, docs/performance.md#budget); "until processed" goes on until HEAD no longer says ``processing`` (polled every
20 ms), and the memory figures cover that too.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from bench._support import ROOT, free_port, status_kib, stop, wait_healthy

CHUNK = 5 * 1024 * 1024
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway local account


class PeakRss(threading.Thread):
    """Samples a process's resident memory every 2 ms: all of it (VmRSS) and the anonymous part (RssAnon:
    heap, decoded pictures; without file pages mapped or cached, which the kernel can drop)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.peak_anon, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))
            self.peak_anon = max(self.peak_anon, status_kib(self.pid, "RssAnon"))
            time.sleep(0.002)


def noise_jpeg(orientation: int, target_mib: int = 20) -> bytes:
    from PIL import Image

    side = int((target_mib * 1024 * 1024 / 3.9) ** 0.5)
    rnd = random.Random(11)
    image = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
    exif = Image.Exif()
    exif[0x010F] = "BenchPhone"
    if orientation != 1:
        exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (37.0, 33.0, 58.0), 3: "E", 4: (126.0, 58.0, 41.0)})
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=100, subsampling=0, exif=exif.tobytes())
    return buf.getvalue()


def noise_png(target_mib: int = 20) -> bytes:
    """A 20 MiB noise PNG, as ``scripts/bench`` sends (fast compression: about 3 bytes a pixel)."""
    from PIL import Image

    side = int((target_mib * 1024 * 1024 / 3) ** 0.5) + 1
    rnd = random.Random(5)
    image = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


async def seed(env: dict[str, str]) -> dict[str, str]:
    """A public organization, a planner, a household and a visit assigned to the planner."""
    from datetime import timedelta

    from app import journal, registry
    from app.auth.models import Organization, User
    from app.core.config import Settings
    from app.core.db import create_engine, create_sessionmaker, utcnow
    from app.core.principal import OrgKind, Role
    from app.core.security import Security
    from app.core.uow import commit
    from app.households.models import Household
    from app.visits.models import Visit, VisitAssignee

    registry.import_models()
    journal.install()  # the seeded households and visits get their change notes, as through the app
    settings = Settings(
        data_dir=Path(env["ONGI_DATA_DIR"]), argon2_memory_cost_kib=int(env["ONGI_ARGON2_MEMORY_COST_KIB"])
    )
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as s:
            org = Organization(name=f"bench-{uuid.uuid4().hex[:6]}", kind=OrgKind.public, jurisdiction=["11990"])
            s.add(org)
            await s.flush()
            user = User(
                organization_id=org.id,
                username=f"bench-planner-{uuid.uuid4().hex[:6]}",
                display_name="bench",
                role=Role.planner,
                password_hash=Security(settings).hash_password_sync(PASSWORD),
            )
            household = Household(
                district_code="11990", dong_code="1199051000", address="벤치로 1", head_name="벤치", members=[], tags=[]
            )
            s.add_all([user, household])
            await s.flush()
            now = utcnow()
            visit = Visit(
                household_id=household.id,
                dong_code=household.dong_code,
                purpose="assessment",
                window_start=now - timedelta(hours=1),
                window_end=now + timedelta(hours=5),
            )
            s.add(visit)
            await s.flush()
            s.add(VisitAssignee(visit_id=visit.id, user_id=user.id, organization_id=org.id, lead=True))
            await commit(s)
            return {"username": user.username, "visit_id": str(visit.id)}
    finally:
        await engine.dispose()


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def one_upload(http: httpx.Client, token: str, visit_id: str, data: bytes, pid: int) -> dict[str, float]:
    photo_id = str(uuid.uuid4())
    meta = ",".join(
        [
            f"photo_id {b64(photo_id)}",
            f"visit_id {b64(visit_id)}",
            f"filename {b64('bench.jpg')}",
            f"filetype {b64('image/jpeg')}",
            f"sha256 {b64(hashlib.sha256(data).hexdigest())}",
        ]
    )
    tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    before = status_kib(pid, "VmRSS")
    before_anon = status_kib(pid, "RssAnon")
    sampler = PeakRss(pid)
    sampler.start()
    transfer = 0.0
    transferred = 0
    last_server_ms = 0.0
    started = time.perf_counter()
    r = http.post("/v1/uploads/", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    offset = 0
    for chunks in range(100):  # bounded
        if offset >= len(data):
            break
        if chunks == 2:  # the app was closed: ask where the upload stands, then go on
            head = http.head(location, headers=tus)
            offset = int(head.headers["upload-offset"])
        piece = data[offset : offset + CHUNK]
        t0 = time.perf_counter()
        r = http.patch(
            location,
            content=piece,
            headers={**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        )
        took = time.perf_counter() - t0
        assert r.status_code == 204, r.text
        offset = int(r.headers["upload-offset"])
        if offset < len(data):
            transfer += took
            transferred += len(piece)
        else:
            timing = r.headers.get("server-timing", "")
            last_server_ms = float(timing.split("dur=")[1]) if "dur=" in timing else took * 1000
    total = time.perf_counter() - started
    for _ in range(3000):  # bounded: a minute
        head = http.head(location, headers=tus)
        if head.headers.get("ongi-upload-status") != "processing":
            break
        time.sleep(0.02)
    processed = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    assert head.headers.get("ongi-upload-status") == "completed", head.headers
    assert http.get(f"/v1/photos/{photo_id}", headers=tus).status_code == 200
    mib = len(data) / 2**20
    return {
        "total_s": total,
        "mib_s": mib / total,
        "processed_s": processed,
        "transfer_mib_s": transferred / 2**20 / transfer if transfer else 0.0,
        "last_chunk_server_ms": last_server_ms,
        "rss_growth_mib": max(0, sampler.peak - before) / 1024,
        "anon_growth_mib": max(0, sampler.peak_anon - before_anon) / 1024,
        "rss_before_mib": before / 1024,
    }


def run_backend(backend: str, runs: int, pictures: dict[str, bytes]) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ongi-bench-upload-"))
    env = {
        **os.environ,
        "ONGI_DATA_DIR": str(data_dir),
        "ONGI_DEMO": "0",
        "ONGI_ENV": "development",
        "ONGI_LOG_LEVEL": "WARNING",
        "ONGI_ARGON2_MEMORY_COST_KIB": "19456",
    }
    env.pop("ONGI_DATABASE_URL", None)
    moto = None
    if backend == "s3":
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        endpoint = f"http://127.0.0.1:{moto_port}"
        env |= {
            "ONGI_STORAGE_BACKEND": "s3",
            "ONGI_S3_ENDPOINT_URL": endpoint,
            "ONGI_S3_BUCKET": "ongi-bench",
            "ONGI_S3_ACCESS_KEY_ID": "bench",
            "ONGI_S3_SECRET_ACCESS_KEY": "bench",
        }
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="ap-northeast-2",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto on loopback
        ).create_bucket(Bucket="ongi-bench", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    port = free_port()
    server = None
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        seeded = asyncio.run(seed(env))
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as http:
            wait_healthy(base, tries=600, pause=0.1)  # a minute: a loaded machine starts slowly
            token = http.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": seeded["username"], "password": PASSWORD},
            ).json()["access_token"]
            first = next(iter(pictures.values()))
            one_upload(http, token, seeded["visit_id"], first, server.pid)  # warm-up, not counted
            time.sleep(0.5)
            for name, data in pictures.items():
                results = [one_upload(http, token, seeded["visit_id"], data, server.pid) for _ in range(runs)]
                med = {k: statistics.median(r[k] for r in results) for k in results[0]}
                print(
                    f"{backend:5} {name:14} {len(data) / 2**20:5.1f} MiB  "
                    f"whole upload {med['total_s'] * 1000:6.0f} ms = {med['mib_s']:6.1f} MiB/s  "
                    f"until processed {med['processed_s'] * 1000:6.0f} ms  "
                    f"transfer {med['transfer_mib_s']:6.1f} MiB/s  "
                    f"last chunk (server) {med['last_chunk_server_ms']:5.0f} ms  "
                    f"RSS growth {med['rss_growth_mib']:5.1f} MiB (anonymous {med['anon_growth_mib']:5.1f}; "
                    f"from {med['rss_before_mib']:.0f} MiB)"
                )
    finally:
        if server is not None:
            stop(server)
        if moto is not None:
            moto.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pictures = {"jpeg turned": noise_jpeg(6), "jpeg upright": noise_jpeg(1), "png": noise_png()}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median of {args.runs} runs; 5 MiB chunks")
    for backend in ("local", "s3") if args.backend == "both" else (args.backend,):
        run_backend(backend, args.runs, pictures)


if __name__ == "__main__":
    main()
