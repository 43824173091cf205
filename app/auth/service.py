"""Login, token rotation, throttling and device revocation (docs/access.md#tokens-and-devices)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access.people import is_client_role, may_use_grant
from app.auth.models import AuthSession, Device, LoginThrottle, Organization, RefreshToken, User
from app.core.db import rowcount, table_of, utcnow
from app.core.errors import Problem
from app.core.principal import PUBLIC_ONLY_SCOPES, OrgKind, Principal, Role
from app.core.state import AppState
from app.core.uow import begin_write, end_read, keep_so_far
from app.journal import audit


@dataclass
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str | None
    scope: str
    device_id: uuid.UUID | None


def _device_revoked() -> Problem:
    return Problem(401, "device-revoked", "detail.device-revoked", extra={"wipe": True})


def principal_for(
    user: User, org: Organization, *, session_id: uuid.UUID | None, device_id: uuid.UUID | None, address: str | None
) -> Principal:
    return principal_of(
        user_id=user.id,
        username=user.username,
        role=user.role,
        user_jurisdiction=user.jurisdiction,
        scopes=user.scopes,
        organization_id=org.id,
        org_kind=org.kind,
        org_jurisdiction=org.jurisdiction,
        session_id=session_id,
        device_id=device_id,
        address=address,
    )


def principal_of(
    *,
    user_id: uuid.UUID,
    username: str,
    role: Role,
    user_jurisdiction: list[str] | None,
    scopes: list[str] | None,
    organization_id: uuid.UUID,
    org_kind: OrgKind,
    org_jurisdiction: list[str],
    session_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
    address: str | None,
) -> Principal:
    """The one rule of what a principal is: the user's own jurisdiction if set, else the organization's."""
    return Principal(
        user_id=user_id,
        username=username,
        role=role,
        organization_id=organization_id,
        org_kind=org_kind,
        jurisdiction=tuple(user_jurisdiction if user_jurisdiction is not None else org_jurisdiction),
        scopes=frozenset(scopes or ()),
        session_id=session_id,
        device_id=device_id,
        address=address,
    )


# --- throttling --------------------------------------------------------------------------------------------


class Throttle:
    """Counts failed logins per account and per address in the database (shared by all processes)."""

    def __init__(self, state: AppState) -> None:
        self.s = state.settings

    @staticmethod
    def keys(username: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("account", "acct:" + username.strip().lower()[:150])]
        if address:
            keys.append(("address", "addr:" + address[:150]))
        return keys

    async def check(self, session: AsyncSession, username: str, address: str | None) -> None:
        now = utcnow()
        names = [k for _, k in self.keys(username, address)]
        rows = (await session.execute(select(LoginThrottle).where(col(LoginThrottle.key).in_(names)))).scalars()
        wait = max(
            ((r.locked_until - now).total_seconds() for r in rows if r.locked_until and r.locked_until > now),
            default=0.0,
        )
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise Problem(
                429,
                "too-many-attempts",
                "detail.too-many-attempts",
                params={"seconds": seconds},
                headers={"Retry-After": str(seconds)},
            )

    async def failed(self, session: AsyncSession, username: str, address: str | None) -> None:
        now = utcnow()
        window = timedelta(seconds=self.s.login_failure_window_seconds)
        for kind, key in self.keys(username, address):
            limit = (
                self.s.login_max_failures_per_account if kind == "account" else self.s.login_max_failures_per_address
            )
            row = (
                await session.execute(select(LoginThrottle).where(col(LoginThrottle.key) == key).with_for_update())
            ).scalar_one_or_none()
            if row is None:
                row = LoginThrottle(key=key, failures=0, window_started_at=now)
                session.add(row)
            if now - row.window_started_at > window or (row.locked_until and row.locked_until <= now):
                row.failures, row.window_started_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= limit:
                row.locked_until = now + timedelta(seconds=self.s.login_lockout_seconds)
        await session.flush()

    async def succeeded(self, session: AsyncSession, username: str) -> None:
        # One Core DELETE: logins of one account at once each clear it, none fails on a row another removed.
        key = self.keys(username, None)[0][1]
        await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key))


# --- login and tokens ----------------------------------------------------------------------------------------


class AuthService:
    def __init__(self, state: AppState, session: AsyncSession) -> None:
        self.state = state
        self.s = state.settings
        self.session = session
        self.throttle = Throttle(state)

    async def _user_and_org(self, username: str) -> tuple[User, Organization] | None:
        row = (
            await self.session.execute(
                select(User, Organization)
                .join(Organization, col(Organization.id) == col(User.organization_id))
                .where(col(User.username) == username.strip())
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def _verify_or_fail(
        self, username: str, secret: str, address: str | None, *, integration: bool
    ) -> tuple[User, Organization]:
        await self.throttle.check(self.session, username, address)
        found = await self._user_and_org(username)
        user_ok = (
            found is not None
            and found[0].active
            and found[1].active
            and may_use_grant(found[0].role, client_credentials=integration)
        )
        # The slow hashes (and a rehash) run holding no connection and no lock; the writes come after.
        await end_read(self.session)
        ok, rehash = await self.state.security.verify_password(
            found[0].password_hash if found is not None and user_ok else None, secret
        )
        new_hash = await self.state.security.hash_password(secret) if ok and rehash else None
        await begin_write(self.session)
        if not ok or found is None:
            await self.throttle.failed(self.session, username, address)
            # Stored with the account's organization when the username exists, so its admins see the attempt
            # (`/v1/audit-events`); the username attempted is kept, never the password.
            await audit.record(
                self.session,
                None,
                "auth.login",
                entity="user_account" if found is not None else None,
                entity_id=found[0].id if found is not None else None,
                organization_id=found[1].id if found is not None else None,
                result="denied",
                address=address,
                details={
                    "grant": "client_credentials" if integration else "password",
                    "username": username.strip()[:100],
                },
            )
            self.state.metrics.logins.labels("denied").inc()
            await keep_so_far(self.session)  # the failed attempt counts although the request fails
            raise Problem(
                401,
                "invalid-credentials",
                "detail.invalid-credentials",
                extra={"error": "invalid_client" if integration else "invalid_grant"},
            )
        user, org = found
        await self.throttle.succeeded(self.session, username)
        # Core UPDATEs that leave the version counter alone: logins of one account from many devices at once
        # must not conflict with each other (an admin's edit of the user still checks its version). A rehash
        # (Argon2 parameters changed) replaces the hash only if it is still the one verified.
        users = table_of(User)
        await self.session.execute(users.update().where(users.c.id == user.id).values(last_login_at=utcnow()))
        if new_hash is not None:
            await self.session.execute(
                users.update()
                .where(users.c.id == user.id, users.c.password_hash == user.password_hash)
                .values(password_hash=new_hash)
            )
        self.state.metrics.logins.labels("ok").inc()
        return user, org

    async def _register_device(self, user: User, client_device_id: str | None, name: str | None) -> Device | None:
        if not client_device_id:
            return None
        device = (
            await self.session.execute(
                select(Device).where(col(Device.user_id) == user.id, col(Device.client_device_id) == client_device_id)
            )
        ).scalar_one_or_none()
        if device is not None and device.revoked_at is not None:
            raise _device_revoked()
        if device is None:
            device = Device(user_id=user.id, client_device_id=client_device_id, name=(name or "")[:200])
            self.session.add(device)
        elif name:
            device.name = name[:200]
        device.last_seen_at = utcnow()
        await self.session.flush()
        return device

    def _access_token(self, principal: Principal, ttl: int) -> tuple[str, int]:
        claims = {
            "sid": str(principal.session_id),
            "role": principal.role.value,
            "org": str(principal.organization_id),
        }
        if principal.device_id:
            claims["did"] = str(principal.device_id)
        if principal.scopes:
            claims["scope"] = " ".join(sorted(principal.scopes))
        return self.state.security.create_access_token(subject=principal.user_id, claims=claims, ttl_seconds=ttl)

    async def _issue_refresh(self, auth_session_id: uuid.UUID) -> str:
        token = self.state.security.new_opaque_token()
        self.session.add(
            RefreshToken(
                session_id=auth_session_id,
                token_hash=self.state.security.token_digest(token),
                expires_at=utcnow() + timedelta(days=self.s.refresh_token_ttl_days),
            )
        )
        await self.session.flush()
        return token

    async def password_login(
        self,
        username: str,
        password: str,
        *,
        client_device_id: str | None,
        device_name: str | None,
        address: str | None,
    ) -> TokenPair:
        user, org = await self._verify_or_fail(username, password, address, integration=False)
        device = await self._register_device(user, client_device_id, device_name)
        auth_session = AuthSession(user_id=user.id, device_id=device.id if device else None, grant="password")
        self.session.add(auth_session)
        await self.session.flush()
        principal = principal_for(
            user, org, session_id=auth_session.id, device_id=device.id if device else None, address=address
        )
        access, ttl = self._access_token(principal, self.s.access_token_ttl_seconds)
        refresh = await self._issue_refresh(auth_session.id)
        await audit.record(
            self.session,
            principal,
            "auth.login",
            entity="auth_session",
            entity_id=auth_session.id,
            details={"grant": "password"},
        )
        return TokenPair(access, ttl, refresh, "", principal.device_id)

    async def client_credentials(
        self, client_id: str, client_secret: str, scope: str | None, address: str | None
    ) -> TokenPair:
        user, org = await self._verify_or_fail(client_id, client_secret, address, integration=True)
        granted = set(user.scopes or ())
        if org.kind != OrgKind.public:
            granted -= PUBLIC_ONLY_SCOPES  # never in force for a private organization's client
            # (docs/access.md#bounds-of-administrators-and-integrations)
        asked = set(scope.split()) if scope else granted
        if not asked <= granted:
            raise Problem(
                400,
                "invalid-scope",
                "detail.invalid-scope",
                params={"scope": " ".join(sorted(asked - granted))},
                extra={"error": "invalid_scope"},
            )
        auth_session = AuthSession(user_id=user.id, grant="client_credentials")
        self.session.add(auth_session)
        await self.session.flush()
        principal = principal_for(user, org, session_id=auth_session.id, device_id=None, address=address)
        principal = Principal(**{**principal.__dict__, "scopes": frozenset(asked)})
        access, ttl = self._access_token(principal, self.s.client_token_ttl_seconds)
        await audit.record(
            self.session,
            principal,
            "auth.login",
            entity="auth_session",
            entity_id=auth_session.id,
            details={"grant": "client_credentials"},
        )
        return TokenPair(access, ttl, None, " ".join(sorted(asked)), None)

    async def refresh(self, token: str, address: str | None) -> TokenPair:
        digest = self.state.security.token_digest(token)
        now = utcnow()
        row = (
            await self.session.execute(
                select(RefreshToken, AuthSession, User, Organization, Device)
                .join(AuthSession, col(AuthSession.id) == col(RefreshToken.session_id))
                .join(User, col(User.id) == col(AuthSession.user_id))
                .join(Organization, col(Organization.id) == col(User.organization_id))
                .outerjoin(Device, col(Device.id) == col(AuthSession.device_id))
                .where(col(RefreshToken.token_hash) == digest)
            )
        ).first()
        invalid = Problem(401, "invalid-grant", "detail.refresh-invalid", extra={"error": "invalid_grant"})
        if row is None:
            raise invalid
        rt, auth_session, user, org, device = row
        if device is not None and device.revoked_at is not None:
            raise _device_revoked()
        if auth_session.revoked_at is not None or not user.active or not org.active or rt.expires_at <= now:
            raise invalid
        # Spend the token atomically: of two concurrent uses only one wins; the other is a reuse.
        spent = await self.session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.id) == rt.id, col(RefreshToken.used_at).is_(None))
            .values(used_at=now, version=col(RefreshToken.version) + 1)
            .execution_options(synchronize_session=False)
        )
        if rowcount(spent) != 1:
            await self.revoke_session(auth_session.id, "refresh_reuse")
            principal = principal_for(
                user, org, session_id=auth_session.id, device_id=auth_session.device_id, address=address
            )
            await audit.record(
                self.session,
                principal,
                "auth.refresh_reuse",
                entity="auth_session",
                entity_id=auth_session.id,
                result="revoked",
            )
            await keep_so_far(self.session)  # the revocation and its audit row stay although the request fails
            raise Problem(401, "refresh-token-reused", "detail.refresh-reused", extra={"error": "invalid_grant"})
        if device is not None:
            device.last_seen_at = now
        principal = principal_for(
            user, org, session_id=auth_session.id, device_id=auth_session.device_id, address=address
        )
        access, ttl = self._access_token(principal, self.s.access_token_ttl_seconds)
        new_refresh = await self._issue_refresh(auth_session.id)
        return TokenPair(access, ttl, new_refresh, "", principal.device_id)

    async def revoke_session(self, session_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason, version=col(AuthSession.version) + 1)
            .execution_options(synchronize_session=False)
        )

    async def logout(self, principal: Principal | None, refresh_token: str | None) -> None:
        targets: set[uuid.UUID] = set()
        if principal and principal.session_id:
            targets.add(principal.session_id)
        if refresh_token:
            sid = (
                await self.session.execute(
                    select(col(RefreshToken.session_id)).where(
                        col(RefreshToken.token_hash) == self.state.security.token_digest(refresh_token)
                    )
                )
            ).scalar_one_or_none()
            if sid is not None:
                targets.add(sid)
        for sid in targets:
            await self.revoke_session(sid, "logout")
        if principal:
            await audit.record(
                self.session, principal, "auth.logout", entity="auth_session", entity_id=principal.session_id
            )


async def revoke_sessions_of(
    session: AsyncSession, *, user_id: uuid.UUID | None = None, device_id: uuid.UUID | None = None, reason: str
) -> None:
    stmt = update(AuthSession).where(col(AuthSession.revoked_at).is_(None))
    if user_id is not None:
        stmt = stmt.where(col(AuthSession.user_id) == user_id)
    if device_id is not None:
        stmt = stmt.where(col(AuthSession.device_id) == device_id)
    await session.execute(
        stmt.values(revoked_at=utcnow(), revoked_reason=reason, version=col(AuthSession.version) + 1).execution_options(
            synchronize_session=False
        )
    )


#: What a request's principal is made of, in one statement built once: the columns only, no ORM objects.
_PRINCIPAL: Select[*tuple[Any, ...]] = (
    select(
        col(User.username),
        col(User.role),
        col(User.jurisdiction).label("user_jurisdiction"),
        col(User.scopes),
        col(User.active).label("user_active"),
        col(Organization.id).label("organization_id"),
        col(Organization.kind).label("org_kind"),
        col(Organization.jurisdiction).label("org_jurisdiction"),
        col(Organization.active).label("org_active"),
        col(AuthSession.revoked_at).label("session_revoked_at"),
        col(AuthSession.device_id),
        col(Device.revoked_at).label("device_revoked_at"),
    )
    .select_from(User)
    .join(Organization, col(Organization.id) == col(User.organization_id))
    .join(AuthSession, col(AuthSession.user_id) == col(User.id))
    .outerjoin(Device, col(Device.id) == col(AuthSession.device_id))
    .where(col(User.id) == bindparam("uid"), col(AuthSession.id) == bindparam("sid"))
)
#: The columns of ``_PRINCIPAL`` that :func:`principal_of` takes as they are.
_PRINCIPAL_FIELDS = (
    "username",
    "role",
    "user_jurisdiction",
    "scopes",
    "organization_id",
    "org_kind",
    "org_jurisdiction",
    "device_id",
)


async def resolve_principal(state: AppState, session: AsyncSession, token: str, address: str | None) -> Principal:
    """Check an access token and that its session, device and user are still good (one query)."""
    from app.core.security import InvalidToken

    try:
        claims = state.security.decode_access_token(token)
        user_id = uuid.UUID(claims["sub"])
        session_id = uuid.UUID(claims["sid"])
    except (InvalidToken, KeyError, ValueError, TypeError) as exc:
        raise Problem(401, "invalid-token", "detail.invalid-token") from exc
    row = (await session.execute(_PRINCIPAL, {"uid": user_id, "sid": session_id})).first()
    if row is None:
        raise Problem(401, "invalid-token", "detail.invalid-token")
    if row.device_revoked_at is not None:
        raise _device_revoked()
    if row.session_revoked_at is not None:
        raise Problem(401, "token-revoked", "detail.token-revoked")
    if not row.user_active or not row.org_active:
        raise Problem(401, "token-revoked", "detail.user-inactive")
    fields = row._mapping
    principal = principal_of(
        user_id=user_id,
        session_id=session_id,
        address=address,
        **{name: fields[name] for name in _PRINCIPAL_FIELDS},
    )
    if is_client_role(row.role):
        # The token names what was asked for; the client's scopes as stored now bound it, so a removed scope
        # stops at once (docs/access.md#bounds-of-administrators-and-integrations), not when the token expires.
        asked = frozenset(str(claims.get("scope", "")).split())
        principal = Principal(**{**principal.__dict__, "scopes": asked & principal.scopes})
    return principal
