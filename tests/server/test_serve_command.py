"""`runner.py serve`'s command line and the token's life: kept in the state folder, taken from a cookie by pages."""
from __future__ import annotations

import socket

import httpx

from course import cli
from course.server.auth import COOKIE, load_or_create_token, token_file
from server_fixtures import local_workspace  # noqa: F401


def test_a_port_in_use_is_one_sentence_and_exit_2(capsys):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        assert cli.main(["serve", "--port", str(taken.getsockname()[1])]) == 2
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert "is in use" in err and "--port" in err and len(err.strip().splitlines()) == 1
    assert cli.main(["serve", "--port", "70000"]) == 2
    assert "from 0 to 65535" in capsys.readouterr().err


def test_the_token_is_made_once_and_kept_private(tmp_path):
    token = load_or_create_token(tmp_path)
    assert token.startswith("dapi") and load_or_create_token(tmp_path) == token
    assert token_file(tmp_path).stat().st_mode & 0o077 == 0


def test_pages_take_the_token_once_then_a_cookie(local_workspace):
    host, token = local_workspace.host, local_workspace.state.token
    assert httpx.get(f"{host}/").status_code == 401
    with httpx.Client(base_url=host) as browser:
        first = browser.get("/", params={"token": token})
        assert first.status_code != 401 and browser.cookies.get(COOKIE) == token
        assert "httponly" in first.headers["set-cookie"].lower()
        assert browser.get("/").status_code != 401  # the cookie alone
        # the API never takes the cookie: a script must send the bearer token
        assert browser.get("/api/2.2/jobs/list").status_code == 401


def test_run_page_urls_point_at_the_pages_when_they_are_served():
    from types import SimpleNamespace

    from course.server.api.runs import with_page_links

    served = SimpleNamespace(pages_served=True, host="http://127.0.0.1:8765")
    run = with_page_links(served, {"job_id": 3, "run_id": 10, "run_page_url": "file:///r/10",
                                   "tasks": [{"run_id": 11, "run_page_url": "file:///r/10/a"}]})
    assert run["run_page_url"] == "http://127.0.0.1:8765/jobs/3/runs/10"
    assert run["tasks"][0]["run_page_url"] == "http://127.0.0.1:8765/task-runs/11"
    task_metadata = with_page_links(served, {"job_id": 3, "run_id": 11, "job_run_id": 10, "tasks": []})
    assert task_metadata["run_page_url"] == "http://127.0.0.1:8765/task-runs/11"
    alone = with_page_links(SimpleNamespace(pages_served=False, host="http://h"),
                            {"job_id": 3, "run_id": 10, "run_page_url": "file:///r/10"})
    assert alone["run_page_url"] == "file:///r/10"
