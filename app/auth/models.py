"""Organizations, users, devices and login sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type
from app.core.principal import OrgKind, Role


class Organization(BaseTable, table=True):
    __tablename__ = "organization"

    name: str = Field(max_length=200, unique=True)
    kind: OrgKind = Field(sa_type=enum_type(OrgKind))
    #: Administrative codes: a 5-digit district (시군구) code covers the whole district, a 10-digit
    #: dong (행정동) code one dong. A household is in the jurisdiction when its dong code starts with one.
    jurisdiction: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    active: bool = Field(default=True)


class User(BaseTable, table=True):
    __tablename__ = "user_account"

    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=200)
    role: Role = Field(sa_type=enum_type(Role))
    password_hash: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    active: bool = Field(default=True)
    #: Narrower than the organization's when set.
    jurisdiction: list[str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Device(BaseTable, table=True):
    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("user_id", "client_device_id"),)

    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    #: The id the phone sends at login (``device_id`` form field).
    client_device_id: str = Field(max_length=200)
    name: str = Field(default="", max_length=200)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    revoke_reason: str | None = Field(default=None, max_length=500)


class AuthSession(BaseTable, table=True):
    """One login: the family of refresh tokens that rotate from it. Access tokens name it (``sid``),
    so revoking the session stops its access tokens at once."""

    __tablename__ = "auth_session"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    device_id: uuid.UUID | None = Field(default=None, foreign_key="device.id", index=True)
    grant: str = Field(max_length=32)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=64)


class RefreshToken(BaseTable, table=True):
    __tablename__ = "refresh_token"

    session_id: uuid.UUID = Field(foreign_key="auth_session.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(BaseTable, table=True):
    """Failed-login counters per account and per address, shared by every API process."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_locked_until", "locked_until"),)

    key: str = Field(max_length=200, unique=True)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
