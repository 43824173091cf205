"""Prometheus metrics, right with one process or many.

One registry per app, so several apps may live in one test process. With several API processes (uvicorn
``--workers N``, or gunicorn) each process only sees its own counters, so a scrape that reached one of them
would report a fraction. Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the processes of one
host *before they start* (``scripts/serve`` and the Dockerfile do): prometheus_client then keeps every value in
a memory-mapped file per process, and ``/metrics`` adds them up across the processes (``multiprocess_mode``
says how a gauge is combined). The directory must be emptied when the service starts, never while it runs.

What only the database knows (the outbox backlog, dead webhook deliveries) is read at scrape time by the
``/metrics`` route and handed to :class:`ScrapeCollector`, so every process answers the same figure.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, or None when this process reports alone."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_dir() is not None
        self.requests = Counter(
            "ongi_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "ongi_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.sync_pulls = Counter(
            "ongi_sync_pulls_total",
            "Sync pulls by how they were answered: fast (nothing new, below the router), unchanged, "
            "sifted (only changes that concern other devices), partial (content changes re-read), diff",
            ["path"],
            registry=self.registry,
        )
        self.push_replays = Counter(
            "ongi_sync_push_replays_total",
            "Pushes replayed one savepoint per mutation because one was rejected",
            registry=self.registry,
        )
        self.logins = Counter("ongi_logins_total", "Login attempts", ["result"], registry=self.registry)
        self.webhook_attempts = Counter(
            "ongi_webhook_delivery_attempts_total",
            "Webhook delivery attempts by result (delivered, failed: will retry, dead: gave up)",
            ["result"],
            registry=self.registry,
        )
        # Per process (a ``pid`` label in multiprocess mode), refreshed by sample_process().
        self.process_rss = Gauge(
            "ongi_process_resident_memory_bytes",
            "Resident memory of the API process",
            registry=self.registry,
            multiprocess_mode="all",
        )
        self.process_cpu = Gauge(
            "ongi_process_cpu_seconds",
            "CPU time (user + system) used by the API process",
            registry=self.registry,
            multiprocess_mode="all",
        )
        self.process_start = Gauge(
            "ongi_process_start_time_seconds",
            "Start time of the API process, seconds since the epoch",
            registry=self.registry,
            multiprocess_mode="all",
        )
        self.process_start.set(time.time())
        # Database pool, summed over the live processes.
        self.db_pool_size = Gauge(
            "ongi_db_pool_size", "Connections the pool keeps", registry=self.registry, multiprocess_mode="livesum"
        )
        self.db_pool_checked_out = Gauge(
            "ongi_db_pool_checked_out",
            "Connections in use",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.db_pool_overflow = Gauge(
            "ongi_db_pool_overflow",
            "Connections open beyond the pool's size",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def sample_process(self, engine: Any | None = None) -> None:
        """Refresh this process's gauges: memory, CPU, and the database pool of ``engine``."""
        self.process_rss.set(_resident_bytes())
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.process_cpu.set(usage.ru_utime + usage.ru_stime)
        pool = getattr(getattr(engine, "sync_engine", engine), "pool", None)
        for gauge, name in (
            (self.db_pool_size, "size"),
            (self.db_pool_checked_out, "checkedout"),
            (self.db_pool_overflow, "overflow"),
        ):
            reader = getattr(pool, name, None)
            if callable(reader):
                try:
                    gauge.set(max(0, int(reader())))
                except (TypeError, ValueError):
                    gauge.set(0)

    def exposition(self, extra: Collector | None = None) -> bytes:
        """The text a scrape answers: this process's registry, or every process's in multiprocess mode."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        if extra is None:
            return generate_latest(registry)
        registry.register(extra)
        try:
            return generate_latest(registry)
        finally:
            registry.unregister(extra)


class ScrapeCollector(Collector):
    """Gauges read from the database at scrape time (the same figure whichever process answers)."""

    def __init__(self, gauges: Iterable[tuple[str, str, float]]) -> None:
        self._gauges = list(gauges)

    def collect(self) -> Iterator[Metric]:
        for name, doc, value in self._gauges:
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], value)
            yield family


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (uvicorn restarts a worker that died)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
