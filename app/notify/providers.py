"""The notification interface (docs/winter.md): one small protocol, :class:`Notifier`, and its providers.

* :class:`LogNotifier` — development and tests: writes one log line (the notification's id, template and the
  length of the text) and sends nothing. No phone number, no name, no text reaches the log.
* :class:`SmsNotifier` — an SMS gateway over HTTPS (JSON body, bearer key, the notification's id as the
  ``Idempotency-Key`` header so that a retried send is not sent twice by a gateway that honours it).
* :class:`KakaoNotifier` — a KakaoTalk 알림톡 gateway, the same way (sender key and approved template code).

A provider raises :class:`SendFailed` when the message was not accepted; ``permanent`` means retrying cannot
help (no address, refused number).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import structlog

from app.notify.config import NotifySettings

log = structlog.get_logger("ongi.notify")


@dataclass(frozen=True)
class Recipient:
    user_id: str
    #: The mobile number the message goes to (never logged).
    phone: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Message:
    #: The notification's id: the idempotency key of the send.
    id: str
    template: str
    text: str = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False)


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.permanent = permanent


class Notifier(Protocol):
    name: str

    async def send(self, recipient: Recipient, message: Message) -> str:
        """Hand ``message`` to ``recipient``; returns the provider's reference for it."""
        ...


class LogNotifier:
    name = "log"

    async def send(self, recipient: Recipient, message: Message) -> str:
        ref = "log-" + hashlib.sha256(message.id.encode()).hexdigest()[:16]
        log.info(
            "notification_sent",
            provider=self.name,
            notification_id=message.id,
            template=message.template,
            text_length=len(message.text),
            has_address=recipient.phone is not None,
            ref=ref,
        )
        return ref


def _digits(phone: str | None) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if not digits:
        raise SendFailed("no-address", permanent=True)
    return digits


class _HttpNotifier:
    name = "http"

    def __init__(self, url: str, api_key: str, timeout: float, client: httpx.AsyncClient | None = None) -> None:
        self.url, self.api_key, self.timeout, self.client = url, api_key, timeout, client

    def body(self, recipient: Recipient, message: Message) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, recipient: Recipient, message: Message) -> str:
        body = self.body(recipient, message)
        headers = {"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": message.id}
        try:
            if self.client is not None:
                r = await self.client.post(self.url, json=body, headers=headers, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    r = await client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}") from exc
        if r.status_code >= 400:
            raise SendFailed(f"http-{r.status_code}", permanent=400 <= r.status_code < 500 and r.status_code != 429)
        try:
            ref = r.json().get("id") or r.json().get("message_id")
        except ValueError:
            ref = None
        return str(ref or message.id)


class SmsNotifier(_HttpNotifier):
    name = "sms"

    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        if not (settings.sms_url and settings.sms_api_key and settings.sms_sender):
            raise ValueError("ONGI_NOTIFY_SMS_URL, ONGI_NOTIFY_SMS_API_KEY and ONGI_NOTIFY_SMS_SENDER are required")
        super().__init__(settings.sms_url, settings.sms_api_key.get_secret_value(), settings.timeout_seconds, client)
        self.sender = settings.sms_sender

    def body(self, recipient: Recipient, message: Message) -> dict[str, Any]:
        return {
            "from": self.sender,
            "to": _digits(recipient.phone),
            "text": message.text,
            "idempotency_key": message.id,
        }


class KakaoNotifier(_HttpNotifier):
    name = "kakao"

    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        if not (settings.kakao_url and settings.kakao_api_key and settings.kakao_sender_key):
            raise ValueError(
                "ONGI_NOTIFY_KAKAO_URL, ONGI_NOTIFY_KAKAO_API_KEY and ONGI_NOTIFY_KAKAO_SENDER_KEY are required"
            )
        super().__init__(
            settings.kakao_url, settings.kakao_api_key.get_secret_value(), settings.timeout_seconds, client
        )
        self.sender_key = settings.kakao_sender_key
        self.template_code = settings.kakao_template_code

    def body(self, recipient: Recipient, message: Message) -> dict[str, Any]:
        return {
            "sender_key": self.sender_key,
            "template_code": self.template_code or message.template,
            "to": _digits(recipient.phone),
            "text": message.text,
            "idempotency_key": message.id,
        }


def notifier_for(settings: NotifySettings, env: str, client: httpx.AsyncClient | None = None) -> Notifier:
    if settings.provider == "sms":
        return SmsNotifier(settings, client)
    if settings.provider == "kakao":
        return KakaoNotifier(settings, client)
    if env == "production" and not settings.allow_log_in_production:
        raise ValueError("ONGI_NOTIFY_PROVIDER=log sends nothing: choose sms or kakao in production")
    return LogNotifier()
