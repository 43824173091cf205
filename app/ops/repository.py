"""What the operations endpoints ask the database (``docs/operations.md``): a probe, and the figures only the
shared database knows (``docs/architecture.md``, the query layer). Each opens its own short connection."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col


async def ping(engine: AsyncEngine) -> None:
    """``SELECT 1``: raises when the database is unreachable."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def webhook_delivery_counts(engine: AsyncEngine) -> dict[str, int] | None:
    """Webhook deliveries by status (``app.events``; None in a build without it). Raises when the database is
    unreachable."""
    try:
        from app.events.models import WebhookDelivery
    except ModuleNotFoundError:
        return None
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(col(WebhookDelivery.status), func.count()).group_by(col(WebhookDelivery.status)))
        ).all()
    return {str(getattr(status, "value", status)): int(n) for status, n in rows}
