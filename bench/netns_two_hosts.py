"""Two API hosts behind a load balancer, one killed mid-sync (issue 20, benchmark 5). Needs root (ip netns), nginx and
PostgreSQL (Debian's packages); everything runs on this machine and is torn down at the end.

``sudo .venv/bin/python -m bench.netns_two_hosts [--phones 60] [--seconds 30] [--kill-at 8] [--down 6]``

* two network namespaces (``ongi-a``, ``ongi-b``) joined to the host by a bridge (10.77.0.0/24), each running one
  Ongi API host (uvicorn, 2 workers) on its own address;
* a PostgreSQL cluster of this run's own, listening on the bridge, shared by both hosts;
* nginx on 127.0.0.1 balancing the two hosts (``proxy_next_upstream error timeout http_502 non_idempotent``: a push
  that died with its host is retried on the other, which is safe because a push is idempotent by mutation id);
* ``--phones`` phones of one visit team sync through nginx for ``--seconds``: each pushes 5 new notes, then pulls;
  a failed request is retried with the same mutation ids until it is answered. At ``--kill-at`` seconds host A is
  killed with SIGKILL (its whole process group); ``--down`` seconds later it is started again.

Checked at the end: every mutation a phone sent is recorded exactly once (``sync_mutation``, one note per mutation);
after a final pull every phone holds every note any phone pushed (no pull missed a change); the errors the phones
saw, all retried. Printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench._support import QUICK_ARGON2, bench_env, uvicorn_command
from bench.kinto_side_by_side import OngiPhone, free_port, ongi_seed_people, pct, run_checked, spawn, wait_up

ROOT = Path(__file__).resolve().parent.parent
BRIDGE, NET = "ongi-br0", "10.77.0"
HOSTS = {"a": f"{NET}.2", "b": f"{NET}.3"}
PG_USER = "ongi-bench"


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True)


def network_up() -> None:
    network_down()
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{NET}.1/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for name, addr in HOSTS.items():
        ns = f"ongi-{name}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"veth-{name}", "type", "veth", "peer", "name", f"veth-{name}-ns")
        sh("ip", "link", "set", f"veth-{name}-ns", "netns", ns)
        sh("ip", "link", "set", f"veth-{name}", "master", BRIDGE)
        sh("ip", "link", "set", f"veth-{name}", "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{addr}/24", "dev", f"veth-{name}-ns")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", f"veth-{name}-ns", "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")


def network_down() -> None:
    for name in HOSTS:
        sh("ip", "netns", "del", f"ongi-{name}", check=False)
        sh("ip", "link", "del", f"veth-{name}", check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


class Postgres:
    def __init__(self, root: Path) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[-1].parent
        self.dir = root / "pg"
        self.port = free_port()
        if sh("id", "-u", PG_USER, check=False).returncode:
            sh("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER)

    def _as(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", PG_USER, "--", *cmd]

    def start(self) -> str:
        self.dir.mkdir(parents=True)
        shutil.chown(self.dir, PG_USER)
        subprocess.run(
            self._as(
                str(self.bin / "initdb"),
                "-D",
                str(self.dir / "data"),
                "-U",
                "ongi",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ),
            check=True,
            capture_output=True,
        )
        with open(self.dir / "data" / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host all all {NET}.0/24 trust\n")
        opts = (
            f"-c listen_addresses=127.0.0.1,{NET}.1 -p {self.port} -k {self.dir} -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off"
        )
        subprocess.run(
            self._as(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-l",
                str(self.dir / "log"),
                "-w",
                "-o",
                opts,
                "start",
            ),
            check=True,
            capture_output=True,
        )
        return f"postgresql+asyncpg://ongi@{NET}.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            self._as(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"),
            capture_output=True,
        )


NGINX_CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  client_max_body_size 30m;
  upstream ongi {{
    server {a}:8000 max_fails=1 fail_timeout=3s;
    server {b}:8000 max_fails=1 fail_timeout=3s;
    keepalive 64;
    keepalive_timeout 4s;  # under uvicorn's 5 s: nginx never reuses a connection the host is closing
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://ongi;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
      proxy_next_upstream error timeout http_502 non_idempotent;
      proxy_next_upstream_tries 2;
    }}
  }}
}}
"""


def start_host(name: str, env: dict[str, str], root: Path) -> subprocess.Popen[str]:
    """Host ``name`` in its namespace, its output in ``host-NAME.log`` in the run's folder (uvicorn at ``info``: a
    worker its supervisor found hung and restarted is said there)."""
    command = uvicorn_command(HOSTS[name], 8000, workers=2, log_level="info")
    return spawn(
        ["ip", "netns", "exec", f"ongi-{name}", *command],
        log=root / f"host-{name}.log",
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )


def kill_host(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


class Phone(OngiPhone):
    """A phone that retries a failed request with the same mutation ids until it is answered."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.sent: list[str] = []  # note ids this phone's pushes created (each once)
        self.errors = 0
        self.check_errors = 0  # the final full pulls' failed requests, retried
        self.pull_ms: list[float] = []

    async def push_retrying(self, k: int, deadline: float) -> None:
        records = [{"body": f"기록 {k}-{i}", "kind": "observation"} for i in range(5)]
        now = time.time()
        muts = [
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": "note",
                "op": "upsert",
                "id": str(uuid.uuid4()),
                "base_version": None,
                "data": {"visit_id": self.visit_id, "internal": False, **rec},
            }
            for rec in records
        ]
        while True:
            try:
                r = await self.http.post(
                    "/v1/sync/push",
                    headers=self.headers,
                    json={"device_id": self.device_id, "device_time": None, "mutations": muts},
                )
                if r.status_code == 200:
                    statuses = {x["status"] for x in r.json()["results"]}
                    if statuses <= {"applied", "duplicate"}:
                        self.sent += [m["id"] for m in muts]
                        return
                self.errors += 1
            except httpx.HTTPError:
                self.errors += 1
            if time.time() - now > 120:
                raise RuntimeError("a push was not answered in 2 minutes")
            await asyncio.sleep(0.2)

    async def pull_retrying(self) -> None:
        while True:
            t = time.perf_counter()
            try:
                await self.pull(limit=500)
                self.pull_ms.append((time.perf_counter() - t) * 1000)
                return
            except httpx.HTTPError:
                self.errors += 1
                await asyncio.sleep(0.2)

    async def holdings(self) -> set[str]:
        held: set[str] = set()
        cursor = None
        for _ in range(10_000):
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            try:
                r = await self.http.get("/v1/sync/pull", params=params, headers=self.headers)
                r.raise_for_status()
            except httpx.HTTPError:  # retried, as the phones do; counted apart from the loop's errors
                self.check_errors += 1
                await asyncio.sleep(0.2)
                continue
            body = r.json()
            for c in body["changes"]:
                if c["entity"] == "note":
                    (held.add if c["op"] == "upsert" else held.discard)(c["id"])
            cursor = body["cursor"]
            if not body["has_more"]:
                return held
        raise RuntimeError("holdings did not settle")


async def scenario(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    pg = Postgres(root)
    url = await asyncio.to_thread(pg.start)  # initdb and pg_ctl -w: seconds
    nginx_port = free_port()
    hosts: dict[str, subprocess.Popen[str]] = {}
    nginx = None
    data = root / "data"
    env = bench_env(data, ONGI_DATABASE_URL=url, ONGI_DATABASE_POOL_SIZE="10", **QUICK_ARGON2)
    try:
        await run_checked([sys.executable, "-m", "app", "migrate"], env=env, cwd=ROOT)
        users, visit_id = await ongi_seed_people({k: v for k, v in env.items() if k.startswith("ONGI_")}, args.phones)
        for name in HOSTS:
            hosts[name] = start_host(name, env, root)
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=root, a=HOSTS["a"], b=HOSTS["b"], port=nginx_port), encoding="utf-8")
        nginx = spawn(["nginx", "-c", str(conf), "-g", "daemon off;"], log=root / "nginx.log")
        base = f"http://127.0.0.1:{nginx_port}"
        for name in HOSTS:
            await asyncio.to_thread(wait_up, f"http://{HOSTS[name]}:8000/healthz", hosts[name], f"host {name}")
        await asyncio.to_thread(wait_up, base + "/healthz", nginx, "nginx")
        limits = httpx.Limits(max_connections=args.phones + 10)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
            phones = [Phone(http, u, visit_id) for u in users[: args.phones]]
            for p in phones:
                await p.login()
            await asyncio.gather(*(p.pull_retrying() for p in phones))
            start = time.perf_counter()
            deadline = start + args.seconds
            events: list[str] = []

            async def chaos() -> None:
                await asyncio.sleep(args.kill_at)
                await asyncio.to_thread(kill_host, hosts["a"])  # waits for the group to go: the phones go on
                events.append(f"{time.perf_counter() - start:.1f} s: host a killed (SIGKILL)")
                await asyncio.sleep(args.down)
                hosts["a"] = start_host("a", env, root)
                await asyncio.to_thread(wait_up, f"http://{HOSTS['a']}:8000/healthz", hosts["a"], "host a")
                events.append(f"{time.perf_counter() - start:.1f} s: host a back")

            async def run(p: Phone) -> None:
                k = 0
                while time.perf_counter() < deadline:
                    k += 1
                    await p.push_retrying(k, deadline)
                    await p.pull_retrying()

            await asyncio.gather(chaos(), *(run(p) for p in phones))
            took = time.perf_counter() - start
            pushed = {nid for p in phones for nid in p.sent}
            held = await asyncio.gather(*(p.holdings() for p in phones))
            missing = [len(pushed - h) for h in held]
        import asyncpg

        conn = await asyncpg.connect(user="ongi", host="127.0.0.1", port=pg.port, database="postgres")
        try:
            notes = await conn.fetchval("SELECT count(*) FROM note")
            distinct = await conn.fetchval("SELECT count(DISTINCT id) FROM note")
            per_mutation = await conn.fetchval(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM sync_mutation GROUP BY device_id, mutation_id) x"
            )
            recorded = await conn.fetchval("SELECT count(*) FROM sync_mutation WHERE entity = 'note'")
        finally:
            await conn.close()
        pull_ms = [ms for p in phones for ms in p.pull_ms]
        return {
            "events": events,
            "seconds": took,
            "notes_pushed": len(pushed),
            "notes_in_db": notes,
            "distinct_notes": distinct,
            "mutations_recorded": recorded,
            "max_records_per_mutation": per_mutation,
            "phones_missing_changes": sum(1 for m in missing if m),
            "pushed_per_s": len(pushed) / took,
            "errors_retried": sum(p.errors for p in phones),
            "final_check_errors_retried": sum(p.check_errors for p in phones),
            "host_workers_restarted": sum(
                (root / f"host-{n}.log").read_text(encoding="utf-8").count("] died") for n in HOSTS
            ),
            "pull_p50_ms": pct(pull_ms, 0.5),
            "pull_p99_ms": pct(pull_ms, 0.99),
        }
    finally:
        for proc in hosts.values():
            await asyncio.to_thread(kill_host, proc, signal.SIGTERM)
        if nginx is not None:
            nginx.terminate()
            await asyncio.to_thread(nginx.wait, timeout=10)
        await asyncio.to_thread(pg.stop)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phones", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--kill-at", type=float, default=8.0)
    ap.add_argument("--down", type=float, default=6.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (ip netns, a bridge, runuser for PostgreSQL)")
    if not shutil.which("nginx"):
        raise SystemExit("needs nginx (apt-get install nginx-light)")
    root = Path(tempfile.mkdtemp(prefix="ongi-netns-"))
    # the run's scratch folder (configuration, logs, nginx's temp files; nothing secret, made new each run):
    # PostgreSQL, run as its own user, and nginx's workers must enter it
    os.chmod(root, 0o755)  # noqa: S103 - other users must reach the run's folder; nothing in it is secret
    network_up()
    try:
        out = asyncio.run(scenario(args, root))
    finally:
        network_down()
    for line in out.pop("events"):
        print(line)
    ok = (
        out["notes_in_db"] == out["notes_pushed"] == out["distinct_notes"] == out["mutations_recorded"]
        and out["max_records_per_mutation"] == 1
        and out["phones_missing_changes"] == 0
    )
    print(f"| two API hosts behind nginx, {args.phones} phones, {out['seconds']:.0f} s, host a killed | |")
    print("| --- | --- |")
    for key, value in out.items():
        print(f"| {key} | {value:.1f} |" if isinstance(value, float) else f"| {key} | {value} |")
    print("every mutation applied exactly once, every phone converged" if ok else "FAILED: see the table")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
