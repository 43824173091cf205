"""Uploads side by side with the tus project's reference server for Node (issue 20 item 6, docs/uploads.md,
docs/performance.md#budget).

    .venv/bin/python -m bench.uploads_side_by_side [--storage local|s3|both] [--db sqlite|postgres] [--runs 5]
        [--node-dir DIR] [--before TREE]

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
``--before TREE`` also runs Ongi from another source tree (an older commit in a ``git worktree``, sharing this
environment), with its own data folder and database, in the same interleaved rounds: before and after measured
side by side, each against the reference upload of its round.
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

from bench._support import free_port, pg_admin, status_kib
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


def _s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="ap-northeast-2",
        aws_access_key_id="bench", aws_secret_access_key="bench",  # noqa: S106 - moto on loopback
    )  # fmt: skip


def start_moto() -> tuple[Any, str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = _s3_client(endpoint)
    for bucket in ("tus-bench",):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    return moto, endpoint


def _ongi_env(work: Path, db: str, s3: str | None) -> tuple[dict[str, str], str | None]:
    env = {
        **os.environ,
        "ONGI_DATA_DIR": str(work),
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
        asyncio.run(pg_admin(admin, f'CREATE DATABASE "{pg_name}"'))
        env["ONGI_DATABASE_URL"] = make_url(admin).set(database=pg_name).render_as_string(hide_password=False)
    if s3 is not None:
        env |= {
            "ONGI_STORAGE_BACKEND": "s3",
            "ONGI_S3_ENDPOINT_URL": s3,
            "ONGI_S3_BUCKET": "ongi-bench",
            "ONGI_S3_ACCESS_KEY_ID": "bench",
            "ONGI_S3_SECRET_ACCESS_KEY": "bench",
        }
    return env, pg_name


def _seed(root: Path, env: dict[str, str]) -> dict[str, str]:
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=root, env=env, check=True, capture_output=True)
    # seed() reads the database from this process's environment
    saved = os.environ.get("ONGI_DATABASE_URL")
    if "ONGI_DATABASE_URL" in env:
        os.environ["ONGI_DATABASE_URL"] = env["ONGI_DATABASE_URL"]
    try:
        return asyncio.run(seed(env))
    finally:
        if saved is None:
            os.environ.pop("ONGI_DATABASE_URL", None)
        else:
            os.environ["ONGI_DATABASE_URL"] = saved


def run(
    storage: str, db: str, runs: int, node: Path, picture: Path, size: int, roots: dict[str, Path]
) -> dict[str, dict[str, float]]:
    """The reference and one Ongi per entry of ``roots`` (name -> source tree), uploads interleaved."""
    work = Path(tempfile.mkdtemp(prefix="ongi-bench-uploads-"))
    moto = None
    procs: list[subprocess.Popen[bytes]] = []
    pg_names: list[str] = []
    ref_args = [str(free_port()), str(work / "tus")]
    try:
        endpoint = None
        if storage == "s3":
            moto, endpoint = start_moto()
            ref_args += [endpoint, "tus-bench"]
        (work / "tus").mkdir()
        servers: dict[str, tuple[subprocess.Popen[bytes], httpx.Client, dict[str, str], dict[str, str]]] = {}
        for name, root in roots.items():
            env, pg_name = _ongi_env(work / f"ongi-{name}", db, endpoint)
            if pg_name:
                pg_names.append(pg_name)
            if endpoint is not None:
                env["ONGI_S3_BUCKET"] = f"ongi-bench-{len(servers)}"
                s3 = _s3_client(endpoint)
                s3.create_bucket(
                    Bucket=env["ONGI_S3_BUCKET"], CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"}
                )
            seeded = _seed(root, env)
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--no-access-log", "--log-level", "warning"],
                cwd=root, env=env,
            )  # fmt: skip
            procs.append(proc)
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/healthz")
            http = httpx.Client(base_url=base, timeout=60)
            token = http.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": seeded["username"], "password": PASSWORD},
            ).json()["access_token"]
            servers[name] = (proc, http, {"Authorization": f"Bearer {token}"}, seeded)
        ref = subprocess.Popen(["node", str(node / "uploads_reference.mjs"), *ref_args], cwd=node)
        procs.append(ref)
        ref_endpoint = f"http://127.0.0.1:{ref_args[0]}/files"
        wait_http(ref_endpoint)
        sha = hashlib.sha256(picture.read_bytes()).hexdigest()

        def ongi_upload(name: str) -> tuple[Any, Any]:
            _, http, auth, seeded = servers[name]
            photo_id = str(uuid.uuid4())
            meta = {"photo_id": photo_id, "visit_id": seeded["visit_id"], "filename": "camera.jpg",
                    "filetype": "image/jpeg", "sha256": sha}  # fmt: skip

            def upload() -> dict:
                return client_upload(node, str(http.base_url) + "/v1/uploads/", picture, auth, meta) | {"size": size}

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

        # warm-up of each, not counted
        for name, (proc, *_) in servers.items():
            up, ready = ongi_upload(name)
            measure(proc.pid, up, ready)
        measure(ref.pid, ref_upload)
        rows: dict[str, list[dict[str, float]]] = {"reference": [], **{name: [] for name in servers}}
        # Each round uploads once to each server, the order turned by one every round (what ran just before
        # an upload, its dirty pages being written back, say, should not always be the same server's).
        order = ["reference", *servers]
        for round_ in range(runs):
            for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
                if name == "reference":
                    rows[name].append(measure(ref.pid, ref_upload))
                else:
                    up, ready = ongi_upload(name)
                    rows[name].append(measure(servers[name][0].pid, up, ready))
                time.sleep(0.3)
        for _, http, *_ in servers.values():
            http.close()
        out: dict[str, dict[str, float]] = {}
        for name, rs in rows.items():
            out[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            out[name + "_max"] = {k: max(r[k] for r in rs) for k in rs[0]}
            # the ratio to the reference upload just before, run by run (the noise of the machine hits both)
            out[name]["ratio"] = statistics.median(
                r["mib_s"] / f["mib_s"] for r, f in zip(rs, rows["reference"], strict=True)
            )
        return out
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if moto is not None:
            moto.stop()
        for pg_name in pg_names:
            drop = f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'
            asyncio.run(pg_admin(os.environ["ONGI_BENCH_POSTGRES_URL"], drop))
        shutil.rmtree(work, ignore_errors=True)


def table(storage: str, db: str, res: dict[str, dict[str, float]], names: list[str]) -> str:
    ref, rmax = res["reference"], res["reference_max"]
    head = " | ".join(f"Ongi ({name})" if len(names) > 1 else "Ongi" for name in names)
    lines = [
        f"\n{storage} storage, Ongi on {db} (medians; max in brackets; run by run: the median of "
        "Ongi's MiB/s over the reference's in the same round)",
        f"| | @tus/server | {head} |",
        "| --- | --- |" + " --- |" * len(names),
    ]

    def row(label: str, ref_cell: str, cell: Any) -> None:
        lines.append(f"| {label} | {ref_cell} | " + " | ".join(cell(res[n], res[n + "_max"]) for n in names) + " |")

    row("MiB/s to the last 204", f"{ref['mib_s']:.1f}", lambda o, m: f"{o['mib_s']:.1f}")
    row("ratio to @tus/server: of the medians; run by run", "",
        lambda o, m: f"{o['mib_s'] / ref['mib_s']:.2f}×; {o['ratio']:.2f}×")  # fmt: skip
    row("photo ready after the upload starts", "—",
        lambda o, m: f"{o['ready_after_start_s']:.2f} s [{m['ready_after_start_s']:.2f}]")  # fmt: skip
    row("photo ready after the last 204", "—",
        lambda o, m: f"{o['ready_after_204_s']:.2f} s [{m['ready_after_204_s']:.2f}]")  # fmt: skip
    row("resident memory growth per upload", f"{ref['rss_growth_mib']:.1f} MiB [{rmax['rss_growth_mib']:.1f}]",
        lambda o, m: f"{o['rss_growth_mib']:.1f} MiB [{m['rss_growth_mib']:.1f}]")  # fmt: skip
    row("resident memory before an upload", f"{ref['rss_before_mib']:.0f} MiB",
        lambda o, m: f"{o['rss_before_mib']:.0f} MiB")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--node-dir", help="a folder where the npm packages are installed already")
    parser.add_argument(
        "--before",
        metavar="TREE",
        help="also run Ongi from this source tree (e.g. an older commit's git worktree), interleaved with the others",
    )
    args = parser.parse_args()
    roots = {"after": ROOT, "before": Path(args.before)} if args.before else {"ongi": ROOT}
    node = node_dir(args.node_dir)
    for name in ("uploads_reference.mjs", "uploads_client.mjs"):
        shutil.copy(HERE / name, node / name)
    data = camera_jpeg()
    picture = node / "camera.jpg"
    picture.write_bytes(data)
    print(f"{len(data) / 2**20:.1f} MiB GPS-tagged JPEG; tus-js-client, 5 MiB chunks; {args.runs} interleaved runs")
    for storage in ("local", "s3") if args.storage == "both" else (args.storage,):
        res = run(storage, args.db, args.runs, node, picture, len(data), roots)
        print(table(storage, args.db, res, list(roots)[::-1]), flush=True)
    if not args.node_dir:
        shutil.rmtree(node, ignore_errors=True)


if __name__ == "__main__":
    main()
