"""Encryption of secrets at rest: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key is the `secret_key` setting (`PODIUM_SECRET_KEY`): one Fernet key, 32 random bytes in
url-safe base64 (44 characters), as `new_key()` and `podium secrets keygen` make. Several keys may be
given, separated by commas: the first encrypts, each one decrypts, so a key is rotated by putting the
new one first, re-encrypting (`podium secrets rekey`), then dropping the old one.

A token carries its own time stamp and authenticates the whole value, so a stored value that was
changed or encrypted with another key is refused, never decrypted into garbage.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from podium.errors import SecretsUnavailable

ENV_NAME = "PODIUM_SECRET_KEY"
NO_KEY = (f"Secrets cannot be stored or read without a secret key: set {ENV_NAME} (or secret_key in the "
          "configuration file) to a Fernet key; `podium secrets keygen` makes one")


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(text: str) -> MultiFernet:
    """The keys of a `secret_key` setting; ValueError naming the setting if one is malformed."""
    keys = [part.strip() for part in text.split(",") if part.strip()]
    if not keys:
        raise ValueError(f"{ENV_NAME} is empty")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ValueError(f"{ENV_NAME} must be Fernet keys (32 url-safe base64-encoded bytes; "
                         "`podium secrets keygen` makes one), separated by commas") from None


class Cipher:
    """Encrypts and decrypts secret values; without a key, every use raises SecretsUnavailable."""

    def __init__(self, keys: str | None) -> None:
        self._fernet = parse_keys(keys) if keys else None

    @property
    def ready(self) -> bool:
        return self._fernet is not None

    def encrypt(self, value: str) -> str:
        return self._keys().encrypt(value.encode()).decode()

    def decrypt(self, token: str, name: str) -> str:
        try:
            return self._keys().decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable(
                f"Secret {name} cannot be decrypted with {ENV_NAME}: it was stored with another key") from None

    def rotate(self, token: str, name: str) -> str:
        """The token encrypted again with the first key."""
        try:
            return self._keys().rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable(
                f"Secret {name} cannot be decrypted with {ENV_NAME}: it was stored with another key") from None

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretsUnavailable(NO_KEY)
        return self._fernet
