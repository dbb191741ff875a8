"""The UI's login and logout (with `auth = keys`): a key id and secret for a session cookie that
holds a token, HttpOnly and SameSite=Lax (Secure over HTTPS), good for the token's lifetime."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from podium.auth.guard import SESSION_COOKIE
from podium.auth.keys import Keys
from podium.auth.throttle import Throttle
from podium.ui.pages import page

router = APIRouter()


def _keys(request: Request) -> Keys | None:
    return request.app.state.keys if request.app.state.settings.auth == "keys" else None


def _next(target: str | None) -> str:
    """Where to go after logging in: a UI page of this server, never another site."""
    if target and target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui"


@router.get("/ui/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    if _keys(request) is None:
        return RedirectResponse("/ui", status_code=303)
    return page(request, "login.html", {"next": _next(next), "error": None})


@router.post("/ui/login")
async def login(request: Request) -> Response:
    keys = _keys(request)
    if keys is None:
        return RedirectResponse("/ui", status_code=303)
    form = await request.form()
    target = _next(str(form.get("next") or ""))
    throttle: Throttle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    if throttle.retry_after(address) > 0:
        return page(request, "login.html", {"next": target, "error": "Too many failed attempts from this address; "
                                             "try again in a minute."}, status_code=429)
    principal = await keys.login(str(form.get("key_id") or ""), str(form.get("key_secret") or ""))
    if principal is None:
        throttle.failed(address)
        return page(request, "login.html", {"next": target, "error": "The key id or secret is not right, or the "
                                             "key is revoked."}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, await keys.token(principal), max_age=int(keys.ttl_s), path="/ui",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    response = RedirectResponse("/ui/login" if _keys(request) else "/ui", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="lax")
    return response
