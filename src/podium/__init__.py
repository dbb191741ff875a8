"""Podium: a workflow and process orchestration server with a Conductor-compatible API."""

from __future__ import annotations

from podium.__about__ import __version__
from podium.app import create_app
from podium.errors import BadRequest, Conflict, NotFound, PodiumError, ValidationFailed
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
