"""`runner.py serve [--port P]`: the learner's local workspace on 127.0.0.1 (API, pages, scheduler)."""
from __future__ import annotations

import errno
import socket
import sys

from course.cli import EXIT_OK, UsageError

DEFAULT_PORT = 8765


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="the local workspace: Jobs / Workspace API and pages on 127.0.0.1",
        description="Serve the local workspace on 127.0.0.1: the Jobs 2.2, Workspace, current-user and "
                    "clusters APIs databricks-sdk and the CLI use, the Jobs pages, and the scheduler "
                    "(every job's schedule or trigger fires while it runs). Ctrl-C stops it.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; "
                   "0 picks a free one)")
    p.add_argument("--no-scheduler", action="store_true", help="serve only; schedules and triggers do not fire")
    p.set_defaults(handler=handle)


def bind(port: int) -> socket.socket:
    """The listening socket on 127.0.0.1:`port`, or a UsageError saying why not."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: a port is a number from 0 to 65535")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto named: asyncio sets TCP_NODELAY only then (else +40 ms a reply)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on 127.0.0.1 is in use (another `runner.py serve`?): "
                             "stop it or pick another with --port") from None
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


def handle(args) -> int:
    sock = bind(args.port)
    from course.server.serving import serve_forever
    from course.server.state import ServerState

    state = ServerState.open()
    state.host = f"http://127.0.0.1:{sock.getsockname()[1]}"
    print(f"DATABRICKS_HOST={state.host}")
    print(f"DATABRICKS_TOKEN={state.token}")
    print(f"pages: {state.page_url('/')}")
    print("(export the two lines above for databricks-sdk, the Databricks CLI and `runner.py deploy`; "
          "Ctrl-C stops the server)", file=sys.stderr)
    sys.stdout.flush()
    serve_forever(state, sock, scheduler=not args.no_scheduler)
    return EXIT_OK
