"""I/O tier: tests against real services on this machine's loopback. The brokers are found at the URLs
the settings give (PODIUM_NATS_URL, PODIUM_AMQP_URL, PODIUM_REDIS_URL); one that is not running skips
its tests locally and fails them under CI=true."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from podium.settings import Settings

DEFAULT_PORTS = {"nats": 4222, "amqp": 5672, "redis": 6379}


def require_service(url: str, service: str) -> str:
    """The URL, once a TCP connection to its host and port succeeds; otherwise skip (or fail in CI)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return url
    except OSError as exc:
        message = f"{service} is not reachable at {host}:{port}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture
def nats_url(settings: Settings) -> str:
    return require_service(settings.nats_url, "NATS")


@pytest.fixture
def amqp_url(settings: Settings) -> str:
    return require_service(settings.amqp_url, "RabbitMQ")


@pytest.fixture
def redis_url(settings: Settings) -> str:
    return require_service(settings.redis_url, "Redis")
