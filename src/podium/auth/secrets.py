"""Key secrets: made at random, kept only as a slow hash (scrypt), checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

# scrypt's cost: about 16 MiB and some tens of milliseconds per check, which is what makes a stolen
# hash slow to attack; a token is asked for once an hour per client, so the server hardly notices.
_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


def new_key_id() -> str:
    return secrets.token_hex(16)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _N, _R, _P)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def check_secret(secret: str, stored: str | None) -> bool:
    """Whether `secret` matches the stored hash. With no stored hash (no such key) the same work is
    done against a made-up one, so that the answer's timing does not tell whether the key exists."""
    scheme, n, r, p, salt, digest = (stored or _decoy()).split("$")
    if scheme != _SCHEME:
        return False
    found = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
    return hmac.compare_digest(found, _unb64(digest)) and stored is not None


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _decoy() -> str:
    return hash_secret(new_secret())
