"""Whether a browser request comes from one of this server's own pages.

An origin is `scheme://host[:port]`, compared in one canonical spelling: lowercase, the default
port (80 for http, 443 for https) left out. The server's own origin is the request's scheme (as
uvicorn sets it, from `X-Forwarded-Proto` when the proxy is trusted) and its `Host` header, so the
check needs no configuration behind a proxy that keeps `Host`; `trusted_origins` names any other
origin whose pages may act here (a proxy that rewrites `Host`). `null` (a sandboxed frame, a page
with `Referrer-Policy: no-referrer`, a `data:` URL) is never an origin of ours.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical(origin: str) -> str | None:
    """`origin` (`scheme://host[:port]`, or a whole URL) as `scheme://host[:port]` in one spelling;
    None when it names no http(s) origin (`null`, a malformed value)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def own(scope: Mapping[str, Any]) -> str | None:
    """This server's origin as the request names it: its scheme and its `Host` header."""
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    if host is None:
        server = scope.get("server")
        if not server:
            return None
        name, port = server
        host = (f"[{name}]:{port}" if ":" in name else f"{name}:{port}").encode()
    return canonical(f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}")


def is_ours(scope: Mapping[str, Any], origin: str, trusted: Collection[str] = ()) -> bool:
    """Whether `origin` (an Origin header, or the origin of a Referer) is this server's own or a
    trusted one."""
    found = canonical(origin)
    return found is not None and (found == own(scope) or found in trusted)
