"""Benchmark orchestrator: dataset, server as in production, load client in its own process, report.

Run through ``scripts/bench`` (or ``.venv/bin/python -m bench.run`` from the repository root). The load client
(``bench/client.py``) talks to the server on 127.0.0.1 only, with bounded loops; the server's resident memory is
sampled from /proc. The budget it checks is docs/performance.md's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench._support import PY, ROOT, free_port, pg_admin, rss_mib, stop, wait_healthy, worker_pids

BUDGET = {
    "first_sync_p50_ms": ("first full sync of one worker's scope, p50 server time", "≤ 250 ms", 250, "le"),
    "empty_pull_p50_ms": ("pull with nothing new, p50 server time", "≤ 5 ms", 5, "le"),
    "empty_pull_rps": ("pull with nothing new, requests/s", "≥ 800/s", 800, "ge"),
    "push200_ms": ("push of 200 mutations, server time (median)", "≤ 300 ms", 300, "le"),
    "devices60_errors": ("60 devices syncing together: errors", "0", 0, "le"),
    "devices60_p99_ms": ("60 devices syncing together: p99 latency", "≤ 500 ms", 500, "le"),
    "upload_mib_s": ("20 MiB camera photo (JPEG) through tus, 5 MiB chunks: MiB/s", "≥ 150 MiB/s", 150, "ge"),
    "upload_rss_growth_mib": ("20 MiB upload: server memory growth", "≤ 30 MiB", 30, "le"),
    "rss_at_rest_mib": ("one API process at rest: resident memory", "≤ 150 MiB", 150, "le"),
}


def run(cmd: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, env=env, cwd=ROOT, text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
        raise SystemExit(f"step failed: {' '.join(cmd[:4])}")
    return done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--short", action="store_true", help="a few minutes: smaller samples, shorter load")
    ap.add_argument("--size", choices=["small", "full"], default="full")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2: one per core)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    workers = args.workers
    repeats = args.repeats or (3 if args.short else 5)

    data = Path(tempfile.mkdtemp(prefix="ongi-bench-"))
    env = {
        **os.environ,
        "ONGI_DATA_DIR": str(data),
        "ONGI_DEMO": "0",
        "ONGI_LOG_LEVEL": "WARNING",
        "ONGI_ENV": "development",
        "PYTHONPATH": str(ROOT),
    }
    pg_name = None
    if args.db == "postgres":
        admin = os.environ.get("ONGI_BENCH_POSTGRES_URL")
        if not admin:
            print("--db postgres needs ONGI_BENCH_POSTGRES_URL", file=sys.stderr)
            return 2
        from sqlalchemy.engine import make_url

        pg_name = f"ongi_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_admin(admin, f'CREATE DATABASE "{pg_name}"'))
        env["ONGI_DATABASE_URL"] = make_url(admin).set(database=pg_name).render_as_string(hide_password=False)
        env["ONGI_DATABASE_POOL_SIZE"] = "10"
    results: dict[str, object] = {
        "db": args.db,
        "short": args.short,
        "workers": workers,
        "size": args.size,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    server = None
    try:
        t0 = time.perf_counter()
        run([PY, "-m", "app", "migrate"], env)
        gen = run([PY, "-m", "app.demo.generate", "--size", args.size, "--seed", "1"], env)
        results["generate_s"] = round(time.perf_counter() - t0, 1)
        print(gen.stdout.strip()[-800:])

        port = free_port()
        server = subprocess.Popen(
            [
                PY,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--no-proxy-headers",
                "--log-config",
                "app/core/uvicorn_log.json",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        import httpx

        wait_healthy(base, tries=200, pause=0.1)
        httpx.get(base + "/readyz", timeout=5)
        time.sleep(2)
        per_worker = [rss_mib(p) for p in worker_pids(server.pid)]
        results["rss_at_rest_mib"] = round(max(per_worker), 1)

        client = [PY, "-m", "bench.client", "--base", base, "--repeats", str(repeats)]
        if args.short:
            client.append("--short")
        out = run(client, env, timeout=1800)
        results.update(json.loads(out.stdout.strip().splitlines()[-1]))

        # the upload: the client samples the server's memory from the upload's start until the photo is ready
        for photo in ("jpeg", "png"):
            upload = [*client, "--phase", "upload", "--photo", photo, "--server-pid", str(server.pid)]
            up = run(upload, env, timeout=600)
            figures = json.loads(up.stdout.strip().splitlines()[-1])
            if photo == "jpeg":
                results.update(figures)
            else:
                results["upload_png"] = figures
    finally:
        if server is not None:
            stop(server)
        if pg_name:
            drop = f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'
            asyncio.run(pg_admin(os.environ["ONGI_BENCH_POSTGRES_URL"], drop))
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)

    print()
    print(
        f"Ongi benchmark — {args.db}, {workers} worker(s), {'short' if args.short else 'full'} run, "
        f"dataset {args.size} (generated in {results.get('generate_s')} s)"
    )
    print(f"{'what':<62} {'figure':>10}  {'budget':<12} ok")
    for key, (label, budget, limit, how) in BUDGET.items():
        value = results.get(key)
        if value is None:
            print(f"{label:<62} {'—':>10}  {budget:<12} ?")
            continue
        ok = value <= limit if how == "le" else value >= limit  # type: ignore[operator]
        print(f"{label:<62} {value:>10}  {budget:<12} {'yes' if ok else 'NO'}")
    png = results.get("upload_png")
    if isinstance(png, dict) and "upload_mib_s" in png:
        print(
            f"  the same with a 20 MiB noise PNG: {png['upload_mib_s']} MiB/s, "
            f"memory growth {png.get('upload_rss_growth_mib')} MiB, ready {png.get('upload_ready_after_ms')} ms after"
        )
    if results.get("upload_ready_after_ms") is not None:
        print(f"  the JPEG was ready to read {results['upload_ready_after_ms']} ms after its last PATCH was answered")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.out / f"bench-{args.db}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
