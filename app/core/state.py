"""What one app instance holds: built by ``create_app``, nothing at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.security import Security


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    security: Security
    metrics: Metrics
    #: Services other domains attach (file storage, ...), by name.
    extras: dict[str, Any] = field(default_factory=dict)
