"""Errors of the event broker layer, under Podium's own tree.

    PodiumError                    (podium.errors)
    └── BrokerError                a broker refused the operation: missing exchange,
        │                          queue declared with other arguments, wrong Redis type ...  (502)
        └── BrokerUnavailable      a broker cannot be reached right now                       (503, retryable)

Driver errors are translated at the broker boundary with ``raise ... from exc``; an address that
cannot be parsed is a plain ``ValueError`` (see ``podium.events.address``).
"""

from __future__ import annotations

from podium.errors import PodiumError


class BrokerError(PodiumError):
    status = 502


class BrokerUnavailable(BrokerError):
    """`address` is the broker's URL with any password masked; `cause` what the driver said."""

    status = 503
    retryable = True

    def __init__(self, address: str, cause: BaseException | str, *, service: str) -> None:
        super().__init__(f"cannot reach {service} at {address}: {describe(cause)}")
        self.address = address
        self.cause = cause
        self.service = service


def describe(cause: BaseException | str) -> str:
    """A driver error as one readable phrase (some drivers raise errors whose str() is empty)."""
    if isinstance(cause, str):
        return cause
    return str(cause) or type(cause).__name__
