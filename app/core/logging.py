"""Structured JSON logs with a request id: ours, the standard library's and uvicorn's alike.

Logs carry ids, never personal data or tokens: the access log names the route template (not the raw path
or query string), the status and the time taken. Everything goes through the standard library's root logger
and is rendered as one JSON object per line by :class:`JsonFormatter`:

* structlog events (``ongi.*``) are handed to the standard library (level filtering happens there);
* uvicorn's ``uvicorn.error`` lines are JSON too, and its access lines (off in ``scripts/serve``; on with
  ``--access-log``) name the method and status only (no path, query string or client address);
* SQLAlchemy's engine is built with ``hide_parameters`` (app/core/db.py), so a failed statement's values
  never reach a log line.

``scripts/serve`` passes :data:`UVICORN_LOG_CONFIG_FILE` to uvicorn (``--log-config``) so that the lines of
uvicorn's supervisor process, which never builds the app, are JSON as well; each app process applies the
same set-up again in :func:`configure_logging`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import structlog

_configured = False

#: uvicorn's ``--log-config`` file (JSON, for :func:`logging.config.dictConfig`).
UVICORN_LOG_CONFIG_FILE = Path(__file__).with_name("uvicorn_log.json")

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
QUIET_LOGGERS = ("httpx", "httpcore", "aiosqlite", "asyncio", "multipart", "python_multipart", "PIL", "botocore")

_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class AccessLineFilter(logging.Filter):
    """uvicorn's access record (client, method, full path, HTTP version, status) as the method and the status
    only: paths carry ids and names (``/v1/integrations/households/{source}/{external_id}``) and query strings
    anything; the app's own ``request`` line with the same request id names the route template."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, _, _, status = args
            record.msg = "%s %s"
            record.args = (method, status)
        return True


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """One JSON object per record, for structlog events and plain standard-library records alike."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=_SHARED,
        )


def json_formatter() -> JsonFormatter:
    """Factory for ``logging.config`` (``"()": "app.core.logging.json_formatter"``)."""
    return JsonFormatter()


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    if json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.dev.ConsoleRenderer(),
                ],
                foreign_pre_chain=_SHARED,
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn configured its loggers with its own text handlers before it built the app: send them to the root.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Libraries that log request URLs or statements' arguments at INFO/DEBUG (webhook targets' query strings,
    # aiosqlite's calls with their parameters) stay at WARNING whatever the service's level.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLineFilter) for f in access.filters):
        access.addFilter(AccessLineFilter())
