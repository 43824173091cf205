"""The app's state, built one way for every entry point (docs/architecture.md, "App state and lifecycle").

:func:`build_state` does what a process needs before it touches the database: logging, every table and
message of the domains (through :mod:`app.registry`), the unit of work's hooks (:func:`app.journal.install`:
change numbering, outbox, audit, household stamps and keys) and the engine. ``create_app()`` wraps it in the
HTTP app; a domain's own command line (``python -m app.integrations.cli``) uses it without importing an entry
point. Nothing here is a domain: it sits beside the registry, which every layer may ask.
"""

from __future__ import annotations

from app import journal, registry
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.logging import configure_logging
from app.core.metrics import Metrics
from app.core.security import Security
from app.core.state import AppState


def build_state(settings: Settings | None = None) -> AppState:
    """A new app state for ``settings`` (the environment's when omitted), its hooks not yet started."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    registry.import_models()
    registry.import_messages()
    journal.install()
    engine = create_engine(settings)
    return AppState(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        security=Security(settings),
        metrics=Metrics(),
    )
