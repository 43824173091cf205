"""Settings, read from the environment with the ``ONGI_`` prefix.

Nothing here connects to anything; :func:`get_settings` only parses the environment.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The development secret. Production refuses to start with it (or with any secret shorter than 32 chars).
PLACEHOLDER_SECRET = "ongi-development-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONGI_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file under data_dir"
    )
    database_pool_size: int = 10
    database_echo: bool = False
    host: str = "127.0.0.1"
    port: int = 8000

    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    #: 32 bytes, urlsafe base64, for encrypting sensitive fields at rest. Derived from secret_key in dev.
    field_encryption_key: SecretStr | None = None

    jwt_audience: str = "ongi-api"
    jwt_issuer: str = "ongi"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    client_token_ttl_seconds: int = 3600

    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 30
    login_failure_window_seconds: int = 900
    login_lockout_seconds: int = 300

    # Argon2id cost of a password hash (docs/access.md#tokens-and-devices). Defaults: OWASP Password Storage Cheat
    # Sheet's
    # recommendation (m=19 MiB, t=2, p=1). A stored hash of other parameters is rehashed at its next login.
    # ONGI_ARGON2_MEMORY_COST_KIB, the earlier name, is still read.
    argon2_memory_kib: int = Field(
        default=19456,
        ge=8,
        validation_alias=AliasChoices(
            "argon2_memory_kib", "ONGI_ARGON2_MEMORY_KIB", "argon2_memory_cost_kib", "ONGI_ARGON2_MEMORY_COST_KIB"
        ),
    )
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)

    demo: bool | None = Field(default=None, description="seed the demo district; default on except production")
    timezone: str = "Asia/Seoul"
    default_language: Literal["ko", "en"] = "ko"
    audit_retention_days: int = 730

    # Lifecycle of personal data (docs/operations.md, app.lifecycle): days after a household's closure until the
    # worker destroys its personal data; photos and notes may go earlier (a period longer than the
    # household's changes nothing: the household's destruction takes them too).
    retention_closed_days: int = Field(default=1825, ge=1)
    retention_photo_days: int = Field(default=1825, ge=1)
    retention_note_days: int = Field(default=1825, ge=1)
    retention_batch: int = Field(default=50, ge=1, le=1000)
    # The monthly access review (app.audit): working hours (service time zone, weekdays), and what is unusual.
    review_work_start_hour: int = Field(default=8, ge=0, le=23)
    review_work_end_hour: int = Field(default=20, ge=1, le=24)
    review_volume_factor: float = Field(default=3.0, gt=1)
    review_volume_minimum: int = Field(default=100, ge=1)
    review_large_export_rows: int = Field(default=1000, ge=1)

    max_request_body_bytes: int = 6 * 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True

    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "ongi"
    s3_region: str = "ap-northeast-2"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    #: The collector's thresholds (``gc.set_threshold``) once the app started. A request makes thousands of
    #: short-lived objects (rows, models, dicts): with Python's 700 a first sync or an import batch runs the
    #: young collection hundreds of times (a 20k import: 12.1 s of Python CPU against 8.1 s with these).
    gc_thresholds: tuple[int, int, int] = (50_000, 20, 100)
    sync_lease_hours: int = 72
    sync_max_mutations: int = 500
    sync_max_push_bytes: int = 5 * 1024 * 1024
    upload_max_bytes: int = 25 * 1024 * 1024
    #: Largest signed consent form (photo or PDF) accepted by ``PUT /v1/households/{id}/consents/{id}/form``.
    consent_form_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    upload_expiry_hours: int = 24

    # --- edges (issue 13): addresses, headers, parsers --------------------------------------------------------
    #: Peers (addresses or CIDRs, comma-separated) whose X-Forwarded-For / Forwarded headers are believed:
    #: the load balancer's. Empty: the TCP peer is the client, whatever the headers say.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Browser origins allowed by CORS (comma-separated, e.g. ``https://console.example.go.kr``). Empty: no CORS.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Memory one photo's decoding may take (pixels × bytes per pixel, copies included). Larger JPEGs are
    #: reduced while decoding; larger PNG, WebP and HEIC pictures are refused.
    image_decode_budget_mib: int = Field(default=48, ge=8)
    #: Largest decompressed size of an XLSX import (the sum of its parts as the zip declares them).
    import_xlsx_max_uncompressed_mib: int = Field(default=64, ge=1)

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    #: The built Ongi Field app (``npm run build`` in web/), served at /app/ (app/web.py).
    web_dir: Path = Field(
        default=Path(__file__).resolve().parents[2] / "web" / "dist" / "field",
        description="built Ongi Field app served at /app/; default: web/dist/field of the repository",
    )

    @model_validator(mode="after")
    def _production_guard(self) -> Settings:
        if self.env == "production":
            secret = self.secret_key.get_secret_value()
            if secret == PLACEHOLDER_SECRET or len(secret) < 32:
                raise ValueError("ONGI_SECRET_KEY must be set to a random value of 32+ characters in production")
            if self.field_encryption_key is None:
                raise ValueError("ONGI_FIELD_ENCRYPTION_KEY must be set in production")
            if self.demo:
                raise ValueError("ONGI_DEMO is refused in production")
            if self.database_url is None:
                raise ValueError("ONGI_DATABASE_URL must be set in production")
        return self

    @property
    def demo_enabled(self) -> bool:
        return bool(self.demo) if self.demo is not None else self.env != "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'ongi.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def encryption_key_bytes(self) -> bytes:
        if self.field_encryption_key is not None:
            raw = base64.urlsafe_b64decode(self.field_encryption_key.get_secret_value())
            if len(raw) != 32:
                raise ValueError("ONGI_FIELD_ENCRYPTION_KEY must decode to 32 bytes")
            return raw
        return hashlib.sha256(b"ongi-field-key:" + self.secret_key.get_secret_value().encode()).digest()


@lru_cache
def get_settings() -> Settings:
    return Settings()
