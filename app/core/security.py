"""Password hashing (Argon2id), JSON Web Tokens and encryption of sensitive fields at rest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jose import JWTError, jwt

from app.core.config import Settings


class InvalidToken(Exception):
    pass


#: The one signing algorithm Ongi issues and accepts (docs/access.md#tokens-and-devices). A token's header is checked
#: against it before any key is touched, so no other jose backend (RSA, ECDSA, ``none``) is ever reached.
JWT_ALGORITHM = "HS256"
JWT_ALGORITHMS: tuple[str, ...] = (JWT_ALGORITHM,)


def check_token_header(token: str) -> None:
    """Refuse a token whose header names any algorithm but :data:`JWT_ALGORITHMS`, reading only its base64
    header (no key, no jose backend). The signature is checked afterwards, by python-jose."""
    head = token.split(".", 1)[0] if isinstance(token, str) else ""
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidToken("malformed header") from exc
    alg = header.get("alg") if isinstance(header, dict) else None
    if not isinstance(alg, str) or alg not in JWT_ALGORITHMS:
        raise InvalidToken("algorithm not accepted")


class Security:
    """Everything that needs the service's secrets, built once per app from its settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self._jwt_key = hashlib.sha256(b"ongi-jwt:" + settings.secret_key.get_secret_value().encode()).digest()
        self._index_key = hashlib.sha256(b"ongi-index:" + settings.encryption_key_bytes()).digest()
        self._aead = AESGCM(settings.encryption_key_bytes())
        # The login limiter: hashing is CPU- and memory-bound (ONGI_ARGON2_MEMORY_KIB each), so this process
        # runs at most this many hashes at once (docs/access.md#tokens-and-devices); each API process has its own.
        self._hash_limiter = anyio.CapacityLimiter(max(2, (os.cpu_count() or 2)))
        #: Verified access-token claims by token: a phone's token is verified once, not on every request.
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()

    # --- passwords -------------------------------------------------------------------------------------
    @cached_property
    def _dummy_hash(self) -> str:
        return self.hasher.hash(secrets.token_urlsafe(16))

    def hash_password_sync(self, password: str) -> str:
        return self.hasher.hash(password)

    async def hash_password(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password, limiter=self._hash_limiter)

    def _verify(self, password_hash: str | None, password: str) -> tuple[bool, bool]:
        target = password_hash or self._dummy_hash
        try:
            self.hasher.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, False
        if password_hash is None:
            return False, False
        return True, self.hasher.check_needs_rehash(password_hash)

    async def verify_password(self, password_hash: str | None, password: str) -> tuple[bool, bool]:
        """(matches, needs_rehash). With no hash (unknown user) a dummy hash is verified, so that the
        answer takes as long whether or not the user exists."""
        return await anyio.to_thread.run_sync(self._verify, password_hash, password, limiter=self._hash_limiter)

    # --- access tokens ---------------------------------------------------------------------------------
    def create_access_token(self, *, subject: uuid.UUID, claims: dict[str, Any], ttl_seconds: int) -> tuple[str, int]:
        now = datetime.now(UTC)
        payload = {
            "sub": str(subject),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
            "aud": self.settings.jwt_audience,
            "iss": self.settings.jwt_issuer,
            **claims,
        }
        return jwt.encode(payload, self._jwt_key, algorithm=JWT_ALGORITHM), ttl_seconds

    #: Tokens whose verified claims are kept (oldest forgotten first).
    CLAIMS_CACHE_SIZE = 4096

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token (do not change the dict). A token seen before is not verified
        again, but its expiry is checked on every call, in whole seconds as python-jose does."""
        claims = self._claims.get(token)
        if claims is None:
            claims = self._verify_access_token(token)
            self._claims[token] = claims
            if len(self._claims) > self.CLAIMS_CACHE_SIZE:
                self._claims.popitem(last=False)
        if int(claims["exp"]) < int(time.time()):
            self._claims.pop(token, None)
            raise InvalidToken("Signature has expired.")
        return claims

    def _verify_access_token(self, token: str) -> dict[str, Any]:
        check_token_header(token)  # before any key is used
        try:
            return jwt.decode(  # type: ignore[no-any-return]
                token,
                self._jwt_key,
                algorithms=list(JWT_ALGORITHMS),
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_sub": True,
                    "require_jti": True,
                    "require_aud": True,
                    "leeway": 0,
                },
            )
        except (JWTError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidToken(str(exc)) from exc

    # --- opaque tokens ---------------------------------------------------------------------------------
    @staticmethod
    def new_opaque_token() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def token_digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def mac(self, data: bytes, *, context: str) -> str:
        """A short keyed MAC (for opaque cursors the server hands out and must recognise)."""
        key = hashlib.sha256(b"ongi-mac:" + context.encode() + self._jwt_key).digest()
        return base64.urlsafe_b64encode(hmac.new(key, data, hashlib.sha256).digest()[:16]).decode().rstrip("=")

    # --- sensitive fields ------------------------------------------------------------------------------
    def encrypt(self, plaintext: str, *, context: str) -> str:
        """AES-256-GCM with a random nonce; ``context`` (e.g. the table and column) is bound as AAD."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        if not token.startswith("v1."):
            raise ValueError("unknown ciphertext version")
        raw = base64.urlsafe_b64decode(token[3:])
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def blind_index(self, value: str, *, context: str) -> str:
        """A keyed hash to find a record by a sensitive value without storing the value."""
        return hmac.new(self._index_key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()
