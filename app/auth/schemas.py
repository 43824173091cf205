from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.core.principal import OrgKind, Role


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None
    device_id: uuid.UUID | None = None


class OAuthErrorResponse(BaseModel):
    """An error of the token endpoint (RFC 6749 §5.2)."""

    model_config = ConfigDict(extra="allow")

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str | None = None
    #: A revoked device (``invalid_grant``): the app erases its local data.
    wipe: bool | None = None


class OrganizationBrief(BaseModel):
    id: uuid.UUID
    name: str
    kind: OrgKind


class MeResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    organization: OrganizationBrief
    jurisdiction: list[str]
    scopes: list[str]
    device_id: uuid.UUID | None
    last_login_at: datetime | None
