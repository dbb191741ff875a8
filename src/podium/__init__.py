"""Podium: a workflow and process orchestration server with a Conductor-compatible API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.__about__ import __version__
from podium.errors import BadRequest, Conflict, NotFound, PodiumError, ValidationFailed

if TYPE_CHECKING:
    from podium.app import create_app
    from podium.settings import Settings

__all__ = [
    "BadRequest",
    "Conflict",
    "NotFound",
    "PodiumError",
    "Settings",
    "ValidationFailed",
    "__version__",
    "create_app",
]


def __getattr__(name: str) -> Any:
    """The server's parts load on first use, so `import podium.worker` stays light."""
    if name == "create_app":
        from podium.app import create_app

        return create_app
    if name == "Settings":
        from podium.settings import Settings

        return Settings
    raise AttributeError(f"module 'podium' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
