"""Password hashing (argon2) and opaque bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

TOKEN_BYTES = 32  # 256 random bits


@lru_cache(maxsize=2)
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(CHEAPEST if profile == "fast" else RFC_9106_LOW_MEMORY)


async def hash_password(password: str, profile: str = "default") -> str:
    """Argon2id hash, computed off the event loop (it is deliberately slow)."""
    return await anyio.to_thread.run_sync(_hasher(profile).hash, password)


async def verify_password(
    password_hash: str | None, password: str, profile: str = "default"
) -> bool:
    """Constant-work check: an unknown account still pays for one verification."""
    hasher = _hasher(profile)

    def _verify() -> bool:
        target = password_hash or _dummy_hash(profile)  # the first dummy hash is slow too
        try:
            return hasher.verify(target, password)
        except (VerificationError, InvalidHashError):
            return False

    ok = await anyio.to_thread.run_sync(_verify)
    return ok and password_hash is not None


@lru_cache(maxsize=2)
def _dummy_hash(profile: str) -> str:
    return _hasher(profile).hash(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What is stored for a token: its SHA-256 (the token itself has 256 bits of entropy)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
