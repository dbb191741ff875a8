"""Logging under `podium`: short messages plus structured fields, optionally as JSON lines."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from podium.errors import StoreUnavailable

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        body.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(body, default=str).decode()


def configure(level: str, as_json: bool) -> None:
    handler = logging.StreamHandler()
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("podium")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def failed(log: logging.Logger, message: str, exc: BaseException, **extra: Any) -> None:
    """Background work that failed and will try again: a database that is away
    (`StoreUnavailable`) is expected now and then and logged as a warning without a traceback."""
    if isinstance(exc, StoreUnavailable):
        log.warning(f"{message}: {exc}", extra=extra)
    else:
        log.exception(message, extra=extra)
