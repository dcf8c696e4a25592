"""Who may call the server: one bearer token, generated once and kept in the state folder.

The API (`/api/…`) takes it only as `Authorization: Bearer <token>`, as Databricks does;
anything else is 401 with Databricks' error JSON. The pages take the same token from the
cookie `day7_token`, which opening any page with `?token=<token>` sets (the URL that
`runner.py serve` prints), so a browser needs the long URL once.
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from course.platform import paths
from course.server.errors import ApiError

COOKIE = "day7_token"
QUERY = "token"
# Paths anyone may read: the SDK asks for the host's metadata before it authenticates.
OPEN_PATHS = ("/.well-known/",)


def token_file(home: Path | None = None) -> Path:
    """Where the token lives: `<state folder>/server/token`."""
    return (home or paths.home()) / "server" / "token"


def load_or_create_token(home: Path | None = None) -> str:
    """The server's token: read from the state folder, or generated (Databricks PAT style) and saved 0600."""
    path = token_file(home)
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "dapi" + secrets.token_hex(16)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.replace(path.with_suffix(".tmp"), path)
    return token


def same(given: str | None, token: str) -> bool:
    """Constant-time comparison (a local server, but no reason to leak the token by timing)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    return header[len("Bearer "):].strip() if header.startswith("Bearer ") else None


def check_api(request: Request, token: str) -> None:
    """Raise 401 UNAUTHENTICATED unless the request carries the token as a bearer token."""
    if "authorization" not in request.headers or bearer(request) is None:
        raise ApiError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
    if not same(bearer(request), token):
        raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")


def page_allowed(request: Request, token: str) -> bool:
    """A page request is allowed with the token in the query, the cookie, or a bearer header."""
    return any(same(v, token) for v in (request.query_params.get(QUERY), request.cookies.get(COOKIE),
                                        bearer(request)))


class TokenMiddleware:
    """Every request passes here: API calls need the bearer token, pages the token or its cookie.

    A plain ASGI middleware (not BaseHTTPMiddleware), so the pages' server-sent events stream through."""

    def __init__(self, app: ASGIApp, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if path.startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/"):
            try:
                check_api(request, self.token)
            except ApiError as exc:
                await exc.response()(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if not page_allowed(request, self.token):
            await HTMLResponse(SIGN_IN, status_code=401)(scope, receive, send)
            return
        if not same(request.query_params.get(QUERY), self.token) or request.cookies.get(COOKIE) == self.token:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = Response()
                cookie.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
                message = {**message, "headers": [*message.get("headers", []), *[
                    (k, v) for k, v in cookie.raw_headers if k == b"set-cookie"]]}
            await send(message)
        await self.app(scope, receive, send_with_cookie)


SIGN_IN = ("<!doctype html><title>Day 7 workspace</title><h1>Sign-in needed</h1>"
           "<p>Open the pages with the URL <code>python runner.py serve</code> printed "
           "(it ends with <code>?token=…</code>); the token is also in the state folder's "
           "<code>server/token</code>.</p>")
