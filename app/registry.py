"""The one discovery of what the domains offer (docs/architecture.md, "Layers and rooms").

A domain is a package under ``app/``. What it offers is found by module name, always in the order of
:data:`DOMAINS`:

===================  ===========================================  ==================================
module               what                                          who asks
===================  ===========================================  ==================================
``models.py``        tables (``SQLModel.metadata``)                 :func:`import_models`
``messages.py``      message catalogue entries                      :func:`import_messages`
``routes.py``        ``router``                                    :func:`routers` (``create_app()``)
``jobs.py``          ``JOBS = [Job(...)]``                          :func:`jobs` (the worker)
``sync.py``          ``sync_entities()``                            ``extensions("sync")`` (app.sync)
                     ``framed_households()``: the households of     ``extensions("sync")`` (app.households)
                     the domain's records a phone holds
``work.py``          ``work_kinds()``                               ``extensions("work")`` (app.work)
``hooks.py``         ``SESSION_HOOKS`` of the unit of work            ``extensions("hooks")`` (app.journal)
``merging.py``       ``after_move()``: what follows a household     ``extensions("merging")`` (app.households)
                     merge
``visits.py``        ``campaign_open()``: a campaign a visit may    ``extensions("visits")`` (app.visits)
                     name; ``published_pins()``: which of a
                     visit's checklist pins name a published
                     template
===================  ===========================================  ==================================

The order is stated, not derived from file names: routers are included in it (of two routes that match the
same path the first wins) and jobs, messages and extensions are listed in it. It was the alphabetical order
when it was written down, and new domains take their alphabetical place unless they must come earlier. Sync
entities do not depend on it: each declares what it comes after (``SyncEntity.after``). A package that is
not listed is still found, after the listed ones, in alphabetical order; list it here.

Extensions are how a lower domain asks a higher one without importing it (docs/architecture.md, "The order of
the domains").
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from app.core.jobs import Job

_APP_DIR = Path(__file__).parent

#: Every domain, in the order discovery visits them (a name that is no package is passed over).
DOMAINS: tuple[str, ...] = (
    "areas",
    "audit",
    "auth",
    "campaigns",
    "care",
    "cases",
    "checklists",
    "consentforms",
    "contacts",
    "events",
    "exports",
    "households",
    "integrations",
    "lifecycle",
    "media",
    "monitoring",
    "notes",
    "notify",
    "ops",
    "people",
    "reports",
    "resources",
    "supports",
    "sync",
    "visits",
    "winter",
    "work",
)
#: Packages under ``app/`` that are layers, not domains: never searched.
NOT_DOMAINS = frozenset({"access", "core", "demo", "journal", "models"})


def domains() -> tuple[str, ...]:
    """The domain packages that exist, in :data:`DOMAINS` order, then any unlisted one alphabetically."""
    present = {m.name for m in pkgutil.iter_modules([str(_APP_DIR)]) if m.ispkg and m.name not in NOT_DOMAINS}
    listed = tuple(name for name in DOMAINS if name in present)
    return listed + tuple(sorted(present - set(listed)))


def _offering(module: str) -> list[str]:
    return [name for name in domains() if (_APP_DIR / name / f"{module}.py").exists()]


def import_models() -> None:
    """Import every ``app.<domain>.models`` so that ``SQLModel.metadata`` knows every table."""
    for name in _offering("models"):
        importlib.import_module(f"app.{name}.models")


def import_messages() -> None:
    """Import every ``app.<domain>.messages`` (each registers its catalogue entries on import)."""
    for name in _offering("messages"):
        importlib.import_module(f"app.{name}.messages")


def routers() -> list[APIRouter]:
    """Every domain's ``router``, in domain order."""
    return [importlib.import_module(f"app.{name}.routes").router for name in _offering("routes")]


def jobs() -> list[Job]:
    """Every domain's ``JOBS``, in domain order."""
    out: list[Job] = []
    for name in _offering("jobs"):
        out.extend(getattr(importlib.import_module(f"app.{name}.jobs"), "JOBS", []))
    return out


@functools.cache
def extensions(name: str) -> tuple[ModuleType, ...]:
    """Every domain's ``app.<domain>.<name>`` module that exists (e.g. ``sync``: what a domain adds to
    phone sync), imported once, in domain order."""
    return tuple(importlib.import_module(f"app.{domain}.{name}") for domain in _offering(name))
