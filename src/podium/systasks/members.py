"""Calling a member service (TANGO's member containers, any REMOTE task's member): a GET with the
call's parameters and a 5 s timeout, the status read from the body text. 200, 204, 208 and 410
all carry a status (members answer `208 "completed"`, `204 "ready"`...). A member the outbound
policy refuses is a MemberError like an unreachable one, its reason naming the rule."""

from __future__ import annotations

import httpx

from podium.errors import OutboundRefused

TIMEOUT_S = 5.0
STATUS_CODES = (200, 204, 208, 410)
STATUSES = ("ready", "started", "running", "completed", "failed", "stopping", "stopped")


class MemberError(Exception):
    """The member could not be reached or refused the call; the message says which."""


async def call(client: httpx.AsyncClient, base_url: str, path: str, params: dict[str, str]) -> str:
    """The member's answer (its body text, unquoted)."""
    url = f"{base_url.rstrip('/')}/{path.lstrip('/')}"
    try:
        response = await client.get(url, params=params, headers={"Content-Type": "text/plain"}, timeout=TIMEOUT_S)
    except OutboundRefused as exc:
        raise MemberError(f"{url}: {exc.message}") from exc
    except httpx.TimeoutException as exc:
        raise MemberError(f"{url}: response timeout") from exc
    except httpx.ConnectError as exc:
        raise MemberError(f"{url}: member is not running ({exc or type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise MemberError(f"{url}: {type(exc).__name__}: {exc}") from exc
    text = response.text.strip().strip('"').strip()
    if response.status_code not in STATUS_CODES:
        raise MemberError(f"{url}: HTTP {response.status_code} {text[:200]}".rstrip())
    return text


def status_of(text: str) -> str | None:
    """A member's word for its status, in TANGO's vocabulary (`success` is `completed`); None if
    the text is not a status."""
    word = text.strip().lower()
    if word == "success":
        return "completed"
    return word if word in STATUSES else None
