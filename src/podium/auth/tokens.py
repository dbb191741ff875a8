"""API tokens: JWTs signed with HS256 by a key every server process on the database shares.

A token names its key, the key's name and role, and when it expires. Checking one is a signature
check (PyJWT) the first time and a dictionary lookup after that, until it expires.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt

from podium.auth.principal import Principal, Role

ISSUER = "podium"
ALGORITHM = "HS256"
_CACHE_LIMIT = 10_000  # tokens remembered as checked (a few per client per hour)


class TokenRefused(Exception):
    """A token that does not let its bearer in. `code` is the word Conductor's clients look for in
    the 401's `error` field to fetch a new token: EXPIRED_TOKEN or INVALID_TOKEN."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def expired() -> TokenRefused:
    return TokenRefused("EXPIRED_TOKEN", "The token has expired; get a new one from POST /api/token")


def invalid(why: str = "The token is not valid") -> TokenRefused:
    return TokenRefused("INVALID_TOKEN", why)


class Tokens:
    def __init__(self, signing_key: str, ttl_s: float, now_s: Callable[[], float]) -> None:
        self._key = signing_key
        self.ttl_s = ttl_s
        self._now_s = now_s
        self._checked: dict[str, tuple[Principal, float]] = {}

    def issue(self, principal: Principal) -> str:
        now = self._now_s()
        claims = {"iss": ISSUER, "sub": principal.key_id, "name": principal.name, "role": principal.role.value,
                  "iat": int(now), "exp": now + self.ttl_s}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def check(self, token: str) -> Principal:
        """The principal a token names (its key may since have been revoked: the caller checks)."""
        known = self._checked.get(token)
        if known is not None:
            if self._now_s() >= known[1]:
                raise expired()
            return known[0]
        principal, expires = self._decode(token)
        if len(self._checked) >= _CACHE_LIMIT:
            self._checked.clear()
        self._checked[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "role", "iss"]}, leeway=0)
        except jwt.ExpiredSignatureError:
            raise expired() from None
        except jwt.InvalidTokenError:
            raise invalid() from None
        try:
            principal = Principal(str(claims["sub"]), str(claims.get("name", "")), Role(claims["role"]))
        except ValueError:
            raise invalid() from None
        return principal, float(claims["exp"])
