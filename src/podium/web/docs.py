"""The API docs pages (`/docs`, Swagger UI; `/redoc`; Swagger's OAuth2 redirect), each with a
Content-Security-Policy of its own.

FastAPI's pages load Swagger UI and ReDoc from jsDelivr, start Swagger UI with an inline script and
style ReDoc's page with an inline `<style>`: the UI's policy (`web.headers`) would block all three.
These routes serve FastAPI's own pages with a policy that allows exactly that: scripts from the
server and jsDelivr plus each inline script of the page by its SHA-256 hash (computed from the
page served, which holds no request data but the app's root path), styles from the server,
jsDelivr and Google Fonts (and inline, as Swagger UI sets style attributes), images from the
server, `data:` and the favicon's site, ReDoc's worker from `blob:`, and calls to the server only.
Framing, plugins, `<base>` and foreign form targets stay refused.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"
POLICY = ("default-src 'self'; script-src 'self' {cdn} {hashes}; "
          "style-src 'self' 'unsafe-inline' {cdn} https://fonts.googleapis.com; "
          "font-src 'self' data: https://fonts.gstatic.com; "
          "img-src 'self' data: https://fastapi.tiangolo.com https://validator.swagger.io; "
          "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def policy(page: bytes) -> str:
    """The policy for `page`: its inline scripts allowed by hash, nothing else inline but styles."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(page))
    return POLICY.format(cdn=CDN, hashes=hashes).replace("  ", " ")


def _with_policy(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = policy(bytes(response.body))
    return response


def install(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve the docs pages (create the app with `docs_url=None, redoc_url=None`)."""
    redirect_url = app.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"

    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return _with_policy(get_swagger_ui_html(
            openapi_url=root + str(app.openapi_url), title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url, init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters))

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html())

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return _with_policy(get_redoc_html(openapi_url=root + str(app.openapi_url), title=f"{app.title} - ReDoc"))

    app.add_route(docs_url, swagger, include_in_schema=False)
    app.add_route(redirect_url, oauth2_redirect, include_in_schema=False)
    app.add_route(redoc_url, redoc, include_in_schema=False)
