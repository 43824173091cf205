"""``/metrics`` is right with several API processes: two uvicorn workers share a multiprocess directory, N
requests spread over both, and the scraped counter equals N whichever worker answers the scrape."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer, live_database

N = 60
HEALTHZ = r'ongi_http_requests_total\{method="GET",route="/healthz",status="200"\}'


def _sample(text: str, pattern: str) -> list[tuple[str, float]]:
    found = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if re.fullmatch(pattern, name):
            found.append((name, float(value)))
    return found


@pytest.mark.slow
async def test_two_workers_count_every_request_once(db_kind: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    async with live_database(db_kind, tmp_path) as url:
        server = LiveServer(
            url,
            tmp_path / "data",
            args=("--workers", "2"),
            env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        )
        server.start()  # polls /healthz until it answers: those requests count too
        try:
            async with httpx.AsyncClient(base_url=server.base, timeout=10) as fresh:
                before = _sample((await fresh.get("/metrics")).text, HEALTHZ)[0][1]
            # A new connection per request, so the two workers' accept() calls share them out.
            for _ in range(N):
                async with httpx.AsyncClient(base_url=server.base, timeout=10) as fresh:
                    assert (await fresh.get("/healthz")).status_code == 200
            scrapes = []
            for _ in range(6):
                async with httpx.AsyncClient(base_url=server.base, timeout=10) as fresh:
                    r = await fresh.get("/metrics")
                    assert r.status_code == 200
                    scrapes.append(r.text)
        finally:
            server.stop()

    for text in scrapes:
        counted = _sample(text, HEALTHZ)
        assert [value for _, value in counted] == [before + N], counted
        assert _sample(text, r"ongi_http_request_duration_seconds_count\{.*route=\"/healthz\".*\}")[0][1] == before + N
        assert _sample(text, r"ongi_outbox_backlog")[0][1] == 0
        assert _sample(text, r"ongi_db_pool_size")
    # Each process reports its own memory (one ``pid`` label per process): both workers are alive and counted.
    pids = {name for name, _ in _sample(scrapes[-1], r'ongi_process_resident_memory_bytes\{pid="\d+"\}')}
    assert len(pids) == 2, pids
    assert list(metrics_dir.glob("*.db")), "the workers wrote their values to the shared directory"
