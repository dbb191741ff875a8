"""Podium's exceptions, one tree.

    PodiumError
    ├── NotFound            unknown execution, task, definition ...      (Conductor: 404)
    ├── Conflict            a state that forbids the request             (409)
    ├── BadRequest          input that cannot be accepted                (400)
    │   ├── ValidationFailed   field-level errors, each {path, message, invalidValue}
    │   └── api.jsonbody.BadJson   a request body that is not JSON Podium can keep
    ├── PayloadTooLarge     a payload over the configured limit          (413)
    │   └── api.limits.BodyTooLarge   a chunked request body, found too large while read
    ├── OutboundRefused     a call the outbound policy forbids           (403; the callers catch it)
    ├── SecretsUnavailable  secrets cannot be stored or read: no PODIUM_SECRET_KEY, or another one (503)
    ├── api.media.UnsupportedMediaType   a state-changing request not declared JSON   (415)
    ├── api.media.ForeignOrigin   a state-changing request from another site's page   (403)
    └── StoreError          the database failed                          (500)
        └── StoreUnavailable   the database cannot be reached right now  (503, retryable)

Services raise these; each dialect renders them in its own error shape, telling clients
`public_message` (a StoreError's message quotes the driver: it is for the logs). Driver errors are
translated at the store boundary with ``raise ... from exc``; a value no column can hold (an
integer past 64 bits, text with a NUL or a lone surrogate) becomes a BadRequest there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.outbound.policy import Refusal

OUT_OF_RANGE = "A number in the request is out of range: integers must fit in signed 64 bits"
UNSTORABLE_TEXT = "Text in the request cannot be stored: it holds a NUL character or a lone surrogate"


class PodiumError(Exception):
    """Base of every error Podium raises on purpose."""

    status = 500
    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def public_message(self) -> str:
        """What a client is told; the message itself may say more (for the logs)."""
        return self.message


class NotFound(PodiumError):
    status = 404


class Conflict(PodiumError):
    status = 409


class BadRequest(PodiumError):
    status = 400


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str
    invalid_value: Any = None


class ValidationFailed(BadRequest):
    def __init__(self, errors: list[FieldError],
                 message: str = "Validation failed, check below errors for detail.") -> None:
        super().__init__(message)
        self.errors = errors


class PayloadTooLarge(PodiumError):
    status = 413


class OutboundRefused(PodiumError):
    """The server was about to call a host or address the outbound policy forbids; nothing was sent."""

    status = 403

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class SecretsUnavailable(PodiumError):
    """Secrets cannot be encrypted or decrypted here: the server has no secret key, or not the one
    a value was stored with. 503 as for a sealed vault: the request is sound, this server cannot
    serve it until its operator configures the key; retrying the same server will not help."""

    status = 503


class StoreError(PodiumError):
    """The message is the driver's (for the logs); clients are told `public_message` only."""

    status = 500

    @property
    def public_message(self) -> str:
        return "The database could not complete the request; it was not applied."


class StoreUnavailable(StoreError):
    status = 503
    retryable = True

    @property
    def public_message(self) -> str:
        return "The database is unavailable; try again later."
