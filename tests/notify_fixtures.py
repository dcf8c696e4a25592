"""Real notification servers on 127.0.0.1 for the tests: an SMTP inbox (aiosmtpd), a webhook
receiver, and a black hole that accepts connections and never answers."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from course.jobs.notify import SmtpConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def by_subject(self, word: str) -> list[tuple[list[str], email.message.EmailMessage]]:
        return [(to, m) for to, m in self.messages if word in m["Subject"]]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpConfig("127.0.0.1", controller.port), inbox
    finally:
        controller.stop()


class Hooks:
    def __init__(self, base: str):
        self.base = base
        self.posts: list[tuple[str, dict]] = []

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


@pytest.fixture
def hooks():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.posts.append((self.path, body))
            self.send_response(500 if self.path == "/broken" else 200)
            self.end_headers()

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received = Hooks(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def black_hole():
    """A port that accepts connections and never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# --------------------------------------------------------------------------- runs, built by the real store
