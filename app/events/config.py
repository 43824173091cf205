"""Webhook delivery settings, from the environment with the ``ONGI_WEBHOOK_`` prefix.

They live beside the code that uses them (not in ``app.core.config``) so that the worker and the API read
the same values. Tests and tools may put a :class:`WebhookSettings` in the app state's ``WEBHOOK_SETTINGS`` slot.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.state import AppState, Slot


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONGI_WEBHOOK_", extra="ignore", frozen=True)

    #: Attempts before a delivery goes to the dead-letter list.
    max_attempts: int = Field(default=12, ge=1, le=50)
    #: Backoff before attempt n+1: min(max, base · 2^(n-1)), times a random factor in [0.5, 1] (jitter).
    backoff_base_seconds: float = Field(default=30.0, gt=0)
    backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    #: How long a claimed delivery belongs to one worker; after it another worker may take it over.
    lease_seconds: float = Field(default=120.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: Deliveries sent at once by one worker.
    concurrency: int = Field(default=16, ge=1, le=256)
    #: Outbox events turned into deliveries per subscription per round.
    fanout_batch: int = Field(default=500, ge=1, le=10_000)
    #: Seconds the worker sleeps when there was nothing to do.
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    #: ``http://`` targets; default: allowed except in production.
    allow_http: bool | None = None
    #: Targets on loopback, private, link-local or reserved addresses; default: allowed except in production.
    allow_private_targets: bool | None = None
    #: Most subscriptions one client may have.
    max_subscriptions_per_client: int = Field(default=25, ge=1)

    def http_allowed(self, env: str) -> bool:
        return self.allow_http if self.allow_http is not None else env != "production"

    def private_allowed(self, env: str) -> bool:
        return self.allow_private_targets if self.allow_private_targets is not None else env != "production"


#: This app's webhook settings (:func:`webhook_settings`).
WEBHOOK_SETTINGS: Slot[WebhookSettings] = Slot("webhooks")


def webhook_settings(state: AppState) -> WebhookSettings:
    """The settings of this app instance (the :data:`WEBHOOK_SETTINGS` slot, else the environment)."""
    return state.get_or_create(WEBHOOK_SETTINGS, WebhookSettings)
