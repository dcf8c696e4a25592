"""What every API handler does: read the call's arguments, answer with JSON or an ApiError.

Handlers are plain functions `(state, args) -> dict | SDK dataclass`; `endpoint` wraps one
into a Starlette route handler that runs it in a worker thread (SQLite and the file system
block), so a slow call never stalls the event loop.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from course.server.errors import ApiError, invalid

Handler = Callable[[Any, dict], Any]


async def arguments(request: Request) -> dict:
    """GET: the query string (repeated keys as lists); POST and others: the JSON body."""
    if request.method == "GET":
        out: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in out:
                out[key] = out[key] + [value] if isinstance(out[key], list) else [out[key], value]
            else:
                out[key] = value
        return out
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request") from None
    if not isinstance(body, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "The body of the request must be a JSON object")
    return body


def render(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if hasattr(result, "as_dict"):
        result = result.as_dict()
    return JSONResponse(result if result is not None else {})


# Handlers hold the GIL and share the history's one connection: more threads than this only
# queue for the same lock (bench/bench_server.py: 50 clients, 31 requests/s against 20 with 40 threads).
HANDLER_THREADS = 4


def limiter(state) -> anyio.CapacityLimiter:
    """The server's handler-thread limit, made inside its event loop on first use."""
    if state.handler_limiter is None:
        state.handler_limiter = anyio.CapacityLimiter(HANDLER_THREADS)
    return state.handler_limiter


def endpoint(state, handler: Handler):
    async def call(request: Request) -> Response:
        args = await arguments(request)
        return render(await anyio.to_thread.run_sync(handler, state, args, limiter=limiter(state)))
    call.__name__ = handler.__name__
    return call


def route(state, method: str, path: str, handler: Handler, versions: tuple[str, ...] = ("2.0",)) -> list[Route]:
    """`path` (after `/api/<version>`) served by `handler` for each of `versions`."""
    return [Route(f"/api/{v}{path}", endpoint(state, handler), methods=[method]) for v in versions]


# ------------------------------------------------------------ argument checks

def truthy(value: Any) -> bool:
    """A boolean argument: JSON true, or "true" in a query string."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def required(args: dict, name: str) -> Any:
    if args.get(name) in (None, ""):
        raise invalid(f"Missing required field: {name}")
    return args[name]


def integer(args: dict, name: str, default: int | None = None, *, lo: int | None = None,
            hi: int | None = None) -> int | None:
    """An integer argument (JSON number or query string), within [lo, hi] when given."""
    value = args.get(name)
    if value in (None, ""):
        if default is None and lo is not None and name.endswith("_id"):
            raise invalid(f"Missing required field: {name}")
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be an integer, got {value!r}") from None
    if lo is not None and number < lo or hi is not None and number > hi:
        raise invalid(f"{name} must be between {lo} and {hi}, got {number}")
    return number


def string_map(value: Any, name: str) -> dict[str, str]:
    """A {name: value} argument such as job_parameters (values given as numbers become strings)."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{name} must be an object of names to values")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
