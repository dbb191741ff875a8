"""Background loops, each small and single-purpose, supervised by the server's lifespan.

A loop never ends on an error: it logs it and tries again on its next round. A database that is
away (`StoreUnavailable`) is expected now and then and logged as a warning without a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from podium.errors import StoreUnavailable


def failed(log: logging.Logger, message: str, exc: BaseException, **extra: Any) -> None:
    if isinstance(exc, StoreUnavailable):
        log.warning(f"{message}: {exc}", extra=extra)
    else:
        log.exception(message, extra=extra)
