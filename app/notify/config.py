"""Notification settings, from the environment with the ``ONGI_NOTIFY_`` prefix (beside the code that uses them,
like ``app.events.config``). Tests and tools may put a :class:`NotifySettings` in the app state's
``NOTIFY_SETTINGS`` slot.

``provider``: ``log`` (development and tests: writes a log line without any personal data, sends nothing),
``sms`` or ``kakao`` (an HTTP gateway each: ``…_URL``, ``…_API_KEY``, and the sender number or KakaoTalk sender
key and template code). Production refuses ``log`` unless ``ONGI_NOTIFY_ALLOW_LOG_IN_PRODUCTION`` says so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.state import AppState, Slot


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONGI_NOTIFY_", extra="ignore", frozen=True)

    provider: Literal["log", "sms", "kakao"] = "log"
    allow_log_in_production: bool = False
    #: An SMS gateway that takes ``POST {"from", "to", "text", "idempotency_key"}`` with a bearer key.
    sms_url: str | None = None
    sms_api_key: SecretStr | None = None
    sms_sender: str | None = Field(default=None, description="The registered sender number (발신번호)")
    #: A KakaoTalk 알림톡 gateway that takes ``POST {"sender_key", "template_code", "to", "text", …}``.
    kakao_url: str | None = None
    kakao_api_key: SecretStr | None = None
    kakao_sender_key: str | None = None
    kakao_template_code: str | None = None
    #: Attempts before a notification is given up (``failed``); the wait doubles from ``backoff_seconds``.
    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_seconds: float = Field(default=30.0, gt=0)
    lease_seconds: float = Field(default=120.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    batch: int = Field(default=50, ge=1, le=1000)
    poll_interval_seconds: float = Field(default=2.0, gt=0)


#: This app's notification settings (:func:`notify_settings`).
NOTIFY_SETTINGS: Slot[NotifySettings] = Slot("notify")


def notify_settings(state: AppState) -> NotifySettings:
    """The settings of this app instance (the :data:`NOTIFY_SETTINGS` slot, else the environment)."""
    return state.get_or_create(NOTIFY_SETTINGS, NotifySettings)
