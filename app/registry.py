"""Finds every domain's tables and routes, so that adding a domain touches no shared file.

A domain is a package under ``app/`` with ``models.py`` (tables) and/or ``routes.py`` (``router``).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter

_APP_DIR = Path(__file__).parent
_SKIP = {"core"}


def domains() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(_APP_DIR)]) if m.ispkg and m.name not in _SKIP)


def import_models() -> None:
    """Import every ``app.<domain>.models`` so that ``SQLModel.metadata`` knows every table."""
    for name in domains():
        if (_APP_DIR / name / "models.py").exists():
            importlib.import_module(f"app.{name}.models")


def routers() -> list[APIRouter]:
    out = []
    for name in domains():
        if (_APP_DIR / name / "routes.py").exists():
            module = importlib.import_module(f"app.{name}.routes")
            out.append(module.router)
    return out


@functools.cache
def extensions(name: str) -> tuple[ModuleType, ...]:
    """Every domain's ``app.<domain>.<name>`` module that exists (e.g. ``sync``: what a domain adds to
    phone sync), imported once, in domain order."""
    return tuple(
        importlib.import_module(f"app.{domain}.{name}")
        for domain in domains()
        if (_APP_DIR / domain / f"{name}.py").exists()
    )
