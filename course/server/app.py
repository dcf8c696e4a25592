"""`create_app(state)`: the server's Starlette application.

Routes: the API families under `/api/2.0/…` and `/api/2.2/…` (`course.server.api`), and
the HTML pages when the module `course.server.pages` exists and provides
`page_routes(state) -> list` of Starlette routes. Every request passes the token check
(`auth.TokenMiddleware`); an `ApiError` anywhere becomes Databricks' error JSON.
"""
from __future__ import annotations

import importlib

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from course.server.api import api_routes
from course.server.auth import TokenMiddleware
from course.server.errors import ApiError, handle_api_error
from course.server.state import ServerState

PAGES_MODULE = "course.server.pages"


def page_routes(state: ServerState) -> list:
    """The pages' routes: `course.server.pages.page_routes(state)`, or none while that module does not exist."""
    try:
        pages = importlib.import_module(PAGES_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != PAGES_MODULE:
            raise  # the pages exist but something they import does not: say so
        return []
    return list(pages.page_routes(state))


async def host_metadata(request: Request) -> JSONResponse:
    """`/.well-known/databricks-config`: what databricks-sdk asks a host before it authenticates."""
    return JSONResponse({"workspace_id": "0"})


async def unknown_api(request: Request) -> JSONResponse:
    """An API path this server does not serve: Databricks' 404 ENDPOINT_NOT_FOUND."""
    return ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.url.path}'").response()


def create_app(state: ServerState) -> Starlette:
    """The application for one server; `state` is shared by every handler (as `request.app.state.day7`)."""
    pages = page_routes(state)
    state.pages_served = bool(pages)  # then run_page_url points at the run's page, as in a workspace
    routes = [
        Route("/.well-known/databricks-config", host_metadata),
        *api_routes(state),
        Route("/api/{rest:path}", unknown_api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        *pages,
    ]
    app = Starlette(routes=routes, middleware=[Middleware(TokenMiddleware, token=state.token)],
                    exception_handlers={ApiError: handle_api_error})
    app.state.day7 = state
    return app
