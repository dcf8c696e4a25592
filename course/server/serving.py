"""Running the application: uvicorn on a bound socket, in the foreground or in a thread.

`serve_forever` is `runner.py serve`; `BackgroundServer` is the same server in a thread,
for tests and benchmarks (started on port 0, stopped with `stop()`).
"""
from __future__ import annotations

import socket
import threading
import time

import uvicorn

from course.server.app import create_app
from course.server.state import ServerState


def _config(state: ServerState) -> uvicorn.Config:
    # h11 and asyncio: pure Python, always present; access logs off (the history is the record)
    # keep-alive 75 s (uvicorn's default is 5 s): SDK waiters poll every few seconds on pooled
    # connections, and a connection closed just as a client reuses it is a failed request
    return uvicorn.Config(create_app(state), log_level="warning", access_log=False, lifespan="off",
                          timeout_graceful_shutdown=5, timeout_keep_alive=75)


def serve_forever(state: ServerState, sock: socket.socket, *, scheduler: bool = True) -> None:
    """Serve until Ctrl-C / SIGTERM, then stop the runs this server started and the scheduler."""
    if scheduler:
        from course.server.scheduler import Scheduler
        state.started.append(Scheduler(state).start())
    state.launcher.warm()  # the first run-now should not wait for a worker's imports
    server = uvicorn.Server(_config(state))
    try:
        server.run(sockets=[sock])
    finally:
        state.close()


class BackgroundServer:
    """The server in a daemon thread on 127.0.0.1 (port 0: a free one); `with` starts and stops it.
    `scheduler`: fire the jobs' triggers too; `warm`: have a spare worker ready for the first run."""

    def __init__(self, state: ServerState, port: int = 0, *, scheduler: bool = False, warm: bool = False):
        self.state = state
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto named: asyncio sets TCP_NODELAY only then (else +40 ms a reply)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        state.host = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(_config(state))
        self.server.install_signal_handlers = lambda: None  # a thread: signals stay the main thread's
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="day7-server")
        self.scheduler, self.warm = scheduler, warm

    @property
    def host(self) -> str:
        return self.state.host

    def start(self) -> "BackgroundServer":
        if self.warm:
            self.state.launcher.warm()
        if self.scheduler:
            from course.server.scheduler import Scheduler
            self.state.started.append(Scheduler(self.state).start())
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.state.close()
        self.sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
