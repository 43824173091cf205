"""Prometheus metrics, one registry per app (several apps may live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
