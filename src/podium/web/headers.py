"""Security headers on every response, UI and API alike (pure ASGI, outermost of Podium's own).

- `Content-Security-Policy`: scripts only from the server's own files (no inline script, no
  `eval`: htmx runs with `allowEval: false`), styles from its own files plus `style` attributes
  (the timeline's bars are placed with them), images from itself and `data:`, no plugins, no
  `<base>`, forms posted only to itself, and no page may frame it. A response that sets its own
  policy keeps it (the API docs pages, `web.docs`).
- `X-Frame-Options: DENY` (framing, for browsers without `frame-ancestors`), `X-Content-Type-Options:
  nosniff` (a JSON or text answer is never run as a script or page), `Referrer-Policy: same-origin`
  (the UI's addresses hold execution ids: other sites are not told them).

A response gets the same few header tuples appended; nothing is computed per request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
          "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
CSP = b"content-security-policy"
FIXED = ((b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
         (b"referrer-policy", b"same-origin"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, policy: str = POLICY) -> None:
        self.app = app
        self.policy = (CSP, policy.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == CSP for name, _ in headers):
                    headers.append(self.policy)
                headers.extend(FIXED)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
