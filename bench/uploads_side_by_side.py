"""Uploads side by side with the tus project's reference server for Node (issue 20 item 6, docs/uploads.md,
docs/performance.md#budget).

    .venv/bin/python -m bench.uploads_side_by_side [--storage local|s3|both] [--db sqlite|postgres] [--runs 5]

Installs ``@tus/server``, ``@tus/file-store``, ``@tus/s3-store`` and ``tus-js-client`` from npm into a
temporary folder (never committed; ``--node-dir`` reuses one), makes one 20 MiB GPS-tagged camera JPEG with
Pillow (EXIF: make, model, GPS position), and uploads it with tus-js-client in Node (5 MiB chunks) to the
reference server (its file store, or its S3 store) and to Ongi (uvicorn, one process, local files or S3),
alternately, ``--runs`` times each. For S3 both talk to one moto server on loopback.

Per upload: MiB/s from the start of the upload to the last 204 (as the client sees it); for Ongi, when the
photo is ready (its record exists: verified, stripped, thumbnailed, in the next pull), polled every 5 ms,
measured from the upload's start and from the last 204; and the server process's resident memory growth
(peak during the upload and its processing, above the level just before). Prints medians and ratios.
PostgreSQL: ``--db postgres`` with ``ONGI_BENCH_POSTGRES_URL`` (a database is made and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
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
from typing import Any

import httpx

from bench._support import free_port, status_kib
from bench.upload import PASSWORD, seed

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
NPM_PACKAGES = ["@tus/server@2", "@tus/file-store@2", "@tus/s3-store@2", "tus-js-client@4"]


def camera_jpeg(target_mib: float = 20.0) -> bytes:
    """A 20 MiB JPEG as a phone camera writes it: EXIF make/model/time and a GPS position (upright)."""
    from PIL import Image

    side = int((target_mib * 1024 * 1024 / 3.9) ** 0.5)
    image = Image.frombytes("RGB", (side, side), random.Random(7).randbytes(side * side * 3))
    exif = Image.Exif()
    exif[0x010F] = "BenchPhone"
    exif[0x0110] = "BenchPhone 12"
    exif[0x0132] = "2026:12:01 10:00:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (37.0, 33.0, 58.0), 3: "E", 4: (126.0, 58.0, 41.0)})
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=100, subsampling=0, exif=exif.tobytes())
    return buf.getvalue()


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 300
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))
            time.sleep(0.002)


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def node_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    folder = Path(tempfile.mkdtemp(prefix="ongi-bench-tus-node-"))
    subprocess.run(["npm", "init", "-y"], cwd=folder, check=True, capture_output=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", *NPM_PACKAGES], cwd=folder, check=True, capture_output=True
    )
    return folder


def wait_http(url: str) -> None:
    for _ in range(600):
        try:
            httpx.options(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def client_upload(node: Path, endpoint: str, file: Path, headers: dict[str, str], meta: dict[str, str]) -> dict:
    out = subprocess.run(
        ["node", str(node / "uploads_client.mjs"), endpoint, str(file), json.dumps(headers), json.dumps(meta)],
        cwd=node, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(pid: int, upload: Any, ready: Any = None) -> dict[str, float]:
    before = status_kib(pid, "VmRSS")
    sampler = PeakRss(pid)
    sampler.start()
    try:
        result = upload()
        ready_at = ready() if ready else None
    finally:
        sampler.stop.set()
        sampler.join()
    size_mib = result["size"] / 2**20
    row = {
        "mib_s": size_mib / ((result["end"] - result["start"]) / 1000),
        "rss_growth_mib": max(0, sampler.peak - before) / 1024,
        "rss_before_mib": before / 1024,
    }
    if ready_at is not None:
        row["ready_after_start_s"] = ready_at - result["start"] / 1000
        row["ready_after_204_s"] = ready_at - result["end"] / 1000
    return row


def start_moto() -> tuple[Any, str]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="ap-northeast-2",
        aws_access_key_id="bench", aws_secret_access_key="bench",  # noqa: S106 - moto on loopback
    )  # fmt: skip
    for bucket in ("ongi-bench", "tus-bench"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    return moto, endpoint


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, database=u.database or "postgres"
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run(storage: str, db: str, runs: int, node: Path, picture: Path, size: int) -> dict[str, dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="ongi-bench-uploads-"))
    env = {
        **os.environ,
        "ONGI_DATA_DIR": str(work / "ongi"),
        "ONGI_DEMO": "0",
        "ONGI_ENV": "development",
        "ONGI_LOG_LEVEL": "WARNING",
        "ONGI_ARGON2_MEMORY_COST_KIB": "19456",
    }
    env.pop("ONGI_DATABASE_URL", None)
    pg_name = None
    if db == "postgres":
        from sqlalchemy.engine import make_url

        admin = os.environ["ONGI_BENCH_POSTGRES_URL"]
        pg_name = f"ongi_bench_up_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(admin, f'CREATE DATABASE "{pg_name}"'))
        env["ONGI_DATABASE_URL"] = make_url(admin).set(database=pg_name).render_as_string(hide_password=False)
    moto = None
    procs: list[subprocess.Popen[bytes]] = []
    ref_args = [str(free_port()), str(work / "tus")]
    try:
        if storage == "s3":
            moto, endpoint = start_moto()
            env |= {
                "ONGI_STORAGE_BACKEND": "s3",
                "ONGI_S3_ENDPOINT_URL": endpoint,
                "ONGI_S3_BUCKET": "ongi-bench",
                "ONGI_S3_ACCESS_KEY_ID": "bench",
                "ONGI_S3_SECRET_ACCESS_KEY": "bench",
            }
            ref_args += [endpoint, "tus-bench"]
        (work / "tus").mkdir()
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        # seed() reads the database from this process's environment
        saved = os.environ.get("ONGI_DATABASE_URL")
        if "ONGI_DATABASE_URL" in env:
            os.environ["ONGI_DATABASE_URL"] = env["ONGI_DATABASE_URL"]
        try:
            seeded = asyncio.run(seed(env))
        finally:
            if saved is None:
                os.environ.pop("ONGI_DATABASE_URL", None)
            else:
                os.environ["ONGI_DATABASE_URL"] = saved
        port = free_port()
        ongi = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        procs.append(ongi)
        ref = subprocess.Popen(["node", str(node / "uploads_reference.mjs"), *ref_args], cwd=node)
        procs.append(ref)
        base = f"http://127.0.0.1:{port}"
        ref_endpoint = f"http://127.0.0.1:{ref_args[0]}/files"
        wait_http(base + "/healthz")
        wait_http(ref_endpoint)
        http = httpx.Client(base_url=base, timeout=60)
        token = http.post(
            "/v1/auth/token", data={"grant_type": "password", "username": seeded["username"], "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        sha = hashlib.sha256(picture.read_bytes()).hexdigest()

        def ongi_upload() -> tuple[Any, Any]:
            photo_id = str(uuid.uuid4())
            meta = {"photo_id": photo_id, "visit_id": seeded["visit_id"], "filename": "camera.jpg",
                    "filetype": "image/jpeg", "sha256": sha}  # fmt: skip

            def upload() -> dict:
                return client_upload(node, base + "/v1/uploads/", picture, auth, meta) | {"size": size}

            def ready() -> float:
                for _ in range(12000):  # bounded: a minute
                    if http.get(f"/v1/photos/{photo_id}", headers=auth).status_code == 200:
                        return time.time()
                    time.sleep(0.005)
                raise RuntimeError("photo never ready")

            return upload, ready

        def ref_upload() -> dict:
            meta = {"filename": "camera.jpg", "filetype": "image/jpeg"}
            return client_upload(node, ref_endpoint, picture, {}, meta) | {"size": size}

        # warm-up of both, not counted
        up, ready = ongi_upload()
        measure(ongi.pid, up, ready)
        measure(ref.pid, ref_upload)
        rows: dict[str, list[dict[str, float]]] = {"reference": [], "ongi": []}
        for _ in range(runs):
            rows["reference"].append(measure(ref.pid, ref_upload))
            time.sleep(0.3)
            up, ready = ongi_upload()
            rows["ongi"].append(measure(ongi.pid, up, ready))
            time.sleep(0.3)
        http.close()
        return {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in rows.items()} | {
            "ongi_max": {k: max(r[k] for r in rows["ongi"]) for k in rows["ongi"][0]},
            "reference_max": {k: max(r[k] for r in rows["reference"]) for k in rows["reference"][0]},
        }
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if moto is not None:
            moto.stop()
        if pg_name:
            drop = f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'
            asyncio.run(_pg_admin(os.environ["ONGI_BENCH_POSTGRES_URL"], drop))
        shutil.rmtree(work, ignore_errors=True)


def table(storage: str, db: str, res: dict[str, dict[str, float]]) -> str:
    ref, ongi, omax, rmax = res["reference"], res["ongi"], res["ongi_max"], res["reference_max"]
    lines = [
        f"\n{storage} storage, Ongi on {db} (medians; max in brackets)",
        "| | @tus/server | Ongi | ratio |",
        "| --- | --- | --- | --- |",
        f"| MiB/s to the last 204 | {ref['mib_s']:.1f} | {ongi['mib_s']:.1f} | {ongi['mib_s'] / ref['mib_s']:.2f}× |",
        f"| photo ready after the upload starts | — | {ongi['ready_after_start_s']:.2f} s "
        f"[{omax['ready_after_start_s']:.2f}] | |",
        f"| photo ready after the last 204 | — | {ongi['ready_after_204_s']:.2f} s "
        f"[{omax['ready_after_204_s']:.2f}] | |",
        f"| resident memory growth per upload | {ref['rss_growth_mib']:.1f} MiB [{rmax['rss_growth_mib']:.1f}] | "
        f"{ongi['rss_growth_mib']:.1f} MiB [{omax['rss_growth_mib']:.1f}] | |",
        f"| resident memory before an upload | {ref['rss_before_mib']:.0f} MiB | {ongi['rss_before_mib']:.0f} MiB | |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--node-dir", help="a folder where the npm packages are installed already")
    args = parser.parse_args()
    node = node_dir(args.node_dir)
    for name in ("uploads_reference.mjs", "uploads_client.mjs"):
        shutil.copy(HERE / name, node / name)
    data = camera_jpeg()
    picture = node / "camera.jpg"
    picture.write_bytes(data)
    print(f"{len(data) / 2**20:.1f} MiB GPS-tagged JPEG; tus-js-client, 5 MiB chunks; {args.runs} interleaved runs")
    for storage in ("local", "s3") if args.storage == "both" else (args.storage,):
        print(table(storage, args.db, run(storage, args.db, args.runs, node, picture, len(data))), flush=True)
    if not args.node_dir:
        shutil.rmtree(node, ignore_errors=True)


if __name__ == "__main__":
    main()
