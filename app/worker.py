"""The worker process: ``python -m app.worker`` (docs/operations.md, "Worker": the outbox and cleanup).

It runs the periodic jobs every domain offers in ``app/<domain>/jobs.py`` as ``JOBS = [Job(...)]``
(:class:`app.core.jobs.Job`, found by :func:`app.registry.jobs` in domain order, so adding a job touches no
shared file). Webhook delivery
(``app.events.jobs``) is one. Each job runs in its own loop: when a round did work it runs again at once,
otherwise it sleeps its interval. Any number of workers may run beside any number of API processes; jobs
coordinate through the database (leases, ``SKIP LOCKED``), never through process memory.

SIGTERM or SIGINT stops it gracefully: rounds under way finish (bounded by ``--grace``), then it exits.
The worker does not migrate the database; the API does that on start (``python -m app migrate``).

    python -m app.worker                 # every job, until stopped
    python -m app.worker --job webhooks  # only some jobs
    python -m app.worker --once          # one round of each job, then exit (cron, tests)
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import structlog
import typer

from app.core.jobs import Job
from app.core.state import AppState

log = structlog.get_logger("ongi.worker")


def discover_jobs() -> list[Job]:
    """Every domain's jobs, in the order of ``app.registry.DOMAINS``."""
    from app import registry

    return registry.jobs()


async def _job_loop(state: AppState, job: Job, stop: asyncio.Event, once: bool) -> None:
    failures = 0
    while not stop.is_set():
        try:
            done = await job.run(state)
            failures = 0
        except Exception:
            failures += 1
            done = 0
            log.exception("job_failed", job=job.name, failures=failures)
        if once:
            return
        if done:
            continue
        # Idle (or failing: back off up to a minute) until the interval passes or we are told to stop.
        delay = job.idle_seconds(state) if not failures else min(60.0, job.idle_seconds(state) * 2**failures)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


async def run(
    state: AppState, jobs: list[Job], *, stop: asyncio.Event | None = None, once: bool = False, grace: float = 30.0
) -> None:
    """Run ``jobs`` until ``stop`` is set (or one round each with ``once``)."""
    stop = stop or asyncio.Event()
    tasks = [asyncio.create_task(_job_loop(state, job, stop, once), name=f"job:{job.name}") for job in jobs]
    if once:
        await asyncio.gather(*tasks)
        return
    await stop.wait()
    log.info("worker_stopping", grace=grace)
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


cli = typer.Typer(help="Ongi worker: outbox delivery and other background jobs", add_completion=False)


@cli.command()
def main(
    job: Annotated[list[str] | None, typer.Option("--job", help="run only these jobs (repeatable)")] = None,
    once: Annotated[bool, typer.Option(help="one round of each job, then exit")] = False,
    grace: Annotated[float, typer.Option(help="seconds to let rounds finish on SIGTERM")] = 30.0,
) -> None:
    """Run the background jobs."""
    from app.main import create_app

    app = create_app()
    state: AppState = app.state.ongi
    jobs = discover_jobs()
    if job:
        unknown = sorted(set(job) - {j.name for j in jobs})
        if unknown:
            raise typer.BadParameter(f"unknown job(s) {unknown}; known: {[j.name for j in jobs]}")
        jobs = [j for j in jobs if j.name in job]

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await state.start()
            log.info("worker_started", jobs=[j.name for j in jobs], once=once)
            await run(state, jobs, stop=stop, once=once, grace=grace)
        finally:
            await state.stop()  # the jobs' stop hooks (webhook connections, storage), then the engine
        log.info("worker_stopped")

    asyncio.run(go())


if __name__ == "__main__":
    cli()
