from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.auth.models import OrgKind, Role


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None
    device_id: uuid.UUID | None = None


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
