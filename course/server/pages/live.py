"""The run page's live updates: a server-sent event stream per run.

The stream polls the history (two indexed reads, well under a millisecond on a local
SQLite file) and sends an event only when what the page shows changed: the run's state,
a task's state or attempt, a repair. Once the run is finished it sends the last state and
ends; a repair started later from the page reconnects (EventSource does so by itself).
Polling keeps the server independent of which process runs the job: a run started by
`runner.py` in a terminal shows live too.
"""
from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import StreamingResponse

from course.jobs.local.history import History, RunNotFound
from course.server.pages.run_view import live_snapshot

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0    # a comment line, so proxies and browsers keep the connection open
RETRY_MS = 2000             # EventSource's reconnection delay after the stream ends


def _frame(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def run_events(request: Request, history: Callable[[], History], run_id: int,
                     poll_seconds: float = POLL_SECONDS) -> AsyncIterator[bytes]:
    """`state` events while the run moves, ending after the run is terminal."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    last_json, idle = None, 0.0
    while True:
        try:
            snap = await asyncio.to_thread(live_snapshot, history(), run_id)
        except RunNotFound as exc:
            yield _frame("gone", {"message": str(exc)})
            return
        body = json.dumps(snap, sort_keys=True)
        if body != last_json:
            last_json, idle = body, 0.0
            yield _frame("state", snap)
            if snap["terminal"]:
                return
        elif idle >= HEARTBEAT_SECONDS:
            idle = 0.0
            yield b": still here\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(poll_seconds)
        idle += poll_seconds


def event_stream(request: Request, history: Callable[[], History], run_id: int) -> StreamingResponse:
    return StreamingResponse(run_events(request, history, run_id), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
