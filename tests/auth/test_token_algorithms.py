"""Access tokens: HS256 only, checked before any key is used; Argon2 cost from settings (issue 13 item 18).

Tokens are crafted by hand (base64 of a header, claims and a signature), signed where it matters with real
EC and RSA keys from ``cryptography``: nothing is patched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.core.config import Settings
from app.core.principal import Role
from app.core.security import JWT_ALGORITHMS, InvalidToken, Security, check_token_header
from tests.support.factories import Factory


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _part(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _claims(security: Security, valid: dict[str, Any]) -> dict[str, Any]:
    """The claims of a real token, so that only the algorithm differs."""
    return dict(security._verify_access_token(valid["access_token"]))


def _signed(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = f"{_part(header)}.{_part(claims)}".encode()
    return f"{signing_input.decode()}.{_b64(sign(signing_input))}"


def _es256(data: bytes) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _rs256(data: bytes) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_the_one_accepted_algorithm_is_hs256() -> None:
    assert JWT_ALGORITHMS == ("HS256",)
    assert "jwt_algorithm" not in Settings.model_fields  # not a setting: pinned in app/core/security.py


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ES256", "typ": "JWT"},
        {"alg": "RS256", "typ": "JWT"},
        {"alg": "none", "typ": "JWT"},
        {"alg": "None"},
        {"alg": "NONE"},
        {"alg": "HS512"},
        {"alg": "HS384"},
        {"alg": ["HS256"]},
        {"typ": "JWT"},
    ],
)
async def test_other_algorithms_are_refused_by_the_header_check(
    header: dict[str, Any], client: httpx.AsyncClient, factory: Factory
) -> None:
    actor = await factory.actor(Role.planner)
    security: Security = factory.state.security
    claims = _claims(security, {"access_token": actor.token})
    alg = header.get("alg")
    if alg == "ES256":
        token = _signed(header, claims, _es256)
    elif alg == "RS256":
        token = _signed(header, claims, _rs256)
    elif isinstance(alg, str) and alg.startswith("HS"):  # signed with the right key, under another HMAC
        digest = {"HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        token = _signed(header, claims, lambda data: hmac.new(security._jwt_key, data, digest).digest())
    else:  # alg none: no signature at all
        token = f"{_part(header)}.{_part(claims)}."

    # The header check alone refuses it: it reads only the base64 header and holds no key.
    with pytest.raises(InvalidToken, match=r"^algorithm not accepted$"):
        check_token_header(token)
    # And verification stops there, before python-jose (and any key) is reached.
    with pytest.raises(InvalidToken, match=r"^algorithm not accepted$"):
        security.decode_access_token(token)
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["type"].endswith("/invalid-token")


async def test_a_hand_made_hs256_token_passes_the_same_check(client: httpx.AsyncClient, factory: Factory) -> None:
    """The control: the same hand-made token under HS256 with the service's key is accepted, so the refusals
    above are the algorithm's alone."""
    actor = await factory.actor(Role.planner)
    security: Security = factory.state.security
    claims = _claims(security, {"access_token": actor.token}) | {"jti": uuid.uuid4().hex, "iat": int(time.time())}
    token = _signed(
        {"alg": "HS256", "typ": "JWT"},
        claims,
        lambda data: hmac.new(security._jwt_key, data, hashlib.sha256).digest(),
    )
    check_token_header(token)
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("token", ["", "abc", "!!!.e30.", "e30", _b64(b"[1,2]") + ".e30.", _b64(b"\xff\xfe") + ".e30."])
def test_a_malformed_header_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        check_token_header(token)


def test_ecdsa_is_never_imported() -> None:
    """CVE-2024-23342 lives in the ``ecdsa`` package, which python-jose imports only as a fallback when
    ``cryptography`` is missing (jose/backends/__init__.py, jose/utils.py). Issuing, verifying and refusing
    tokens, ES256 ones included, never imports it."""
    code = """
import sys
from app.core.config import Settings
from app.core.security import InvalidToken, Security
import app.main
s = Security(Settings(env="test"))
token, _ = s.create_access_token(subject=__import__("uuid").uuid4(), claims={}, ttl_seconds=60)
s.decode_access_token(token)
for forged in ("eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "eyJhbGciOiJub25lIn0.e30."):
    try:
        s.decode_access_token(forged)
    except InvalidToken:
        pass
from jose import jwt
try:
    jwt.decode("eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "k", algorithms=["ES256"])
except Exception:
    pass
print(sorted(m for m in sys.modules if m == "ecdsa" or m.startswith("ecdsa.") or m == "jose.backends.ecdsa_backend"))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_argon2_cost_follows_the_settings_with_owasp_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ONGI_ARGON2_MEMORY_KIB",
        "ONGI_ARGON2_MEMORY_COST_KIB",
        "ONGI_ARGON2_TIME_COST",
        "ONGI_ARGON2_PARALLELISM",
    ):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings()
    # OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1
    assert (defaults.argon2_memory_kib, defaults.argon2_time_cost, defaults.argon2_parallelism) == (19 * 1024, 2, 1)
    monkeypatch.setenv("ONGI_ARGON2_MEMORY_KIB", "256")
    monkeypatch.setenv("ONGI_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ONGI_ARGON2_PARALLELISM", "2")
    chosen = Settings()
    assert (chosen.argon2_memory_kib, chosen.argon2_time_cost, chosen.argon2_parallelism) == (256, 1, 2)
    digest = Security(chosen).hash_password_sync("pw")
    assert "$m=256,t=1,p=2$" in digest


async def test_login_rehashes_a_hash_of_other_parameters(client: httpx.AsyncClient, factory: Factory) -> None:
    from app.auth.models import User

    security: Security = factory.state.security
    user = await factory.user(Role.planner)
    outdated = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1).hash("correct horse battery")
    async with factory.maker() as s:
        row = await s.get(User, user.id)
        assert row is not None
        row.password_hash = outdated
        await s.commit()
    await factory.login(user)
    async with factory.maker() as s:
        fresh = await s.get(User, user.id, populate_existing=True)
        assert fresh is not None
        stored = fresh.password_hash
    assert stored != outdated
    assert stored is not None
    assert not security.hasher.check_needs_rehash(stored)
    assert (await security.verify_password(stored, "correct horse battery"))[0]
    await factory.login(user)  # and the new hash works
