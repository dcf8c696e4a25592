"""The Jobs pages over HTTP: a real server (uvicorn in a thread) on a history written as the runner writes it.

What a learner sees is checked in the HTML: the runs × tasks matrix coloured by state, the
trigger and its next fire times, the run's graph with each task's state, the repair
dialog's preselection (the failed task and what it skipped, not what succeeded), the task
run's error with its failing cell, the cluster log, the rendered notebook, and the live
stream that follows a run as the history changes. The browser half is test_pages_browser.py.
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from course.jobs.local.history import History
from course.platform import paths
from course.server.pages.graph import depths, layout
from course.server.serving import BackgroundServer
from course.server.state import ServerState

sys.path.insert(0, str(Path(__file__).parent))
from pages_seed import ERROR, seed  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("pages-home")
    seeded = seed(home)
    with paths.using_home(home):
        server = BackgroundServer(ServerState.open(home)).start()
        try:
            with httpx.Client(base_url=server.host, timeout=30) as client:
                client.get("/jobs", params={"token": server.state.token}).raise_for_status()  # sets the cookie
                yield server, client, seeded, home
        finally:
            server.stop()


def test_pages_need_the_token_and_the_link_with_it_sets_a_cookie(served):
    server, client, seeded, _ = served
    bare = httpx.get(f"{server.host}/jobs", timeout=30)
    assert bare.status_code == 401 and "runner.py serve" in bare.text
    assert httpx.get(f"{server.host}/jobs", cookies={"day7_token": "wrong"}, timeout=30).status_code == 401
    first = httpx.get(f"{server.host}/runs/{seeded.ok_run}", params={"token": server.state.token}, timeout=30)
    assert first.status_code == 200 and first.cookies.get("day7_token") == server.state.token
    assert client.get(f"/runs/{seeded.ok_run}").status_code == 200   # the cookie alone


def test_jobs_list_and_job_page(served):
    _, client, seeded, home = served
    jobs = client.get("/jobs").text
    assert f'href="/jobs/{seeded.job_id}">nightly orders</a>' in jobs
    assert "at 02:00" in jobs or "2:00" in jobs, jobs
    page = client.get(f"/jobs/{seeded.job_id}").text
    # runs × tasks, newest run first, each cell the task's latest attempt in that run
    heads = re.findall(r'<a href="/runs/(\d+)" title="run \d+ · (\w+)', page)
    assert [int(r) for r, _ in heads][:4] == [seeded.running_run, seeded.failed_run, seeded.repaired_run, seeded.ok_run]
    assert [s for _, s in heads][:4] == ["RUNNING", "FAILED", "SUCCESS", "SUCCESS"]
    assert re.findall(r'<th class="task">(\w+)</th>', page) == ["ingest", "clean", "report", "audit"]
    assert f'href="/task-runs/{seeded.failed_task_run}" class="cell bad"' in page
    assert 'class="cell skipped-bad"' in page and 'title="report · UPSTREAM_FAILED"' in page
    # the trigger in words, five next fire times in the job's zone, and where a file job is paused
    nxt = re.findall(r"<li>(\d{4}-\d\d-\d\d 02:00 CET|\d{4}-\d\d-\d\d 02:00 CEST)</li>", page)
    assert len(nxt) == 5, page
    assert 'id="pause-where"' in page and str(home / "orders.yml") in page
    # Run now offers the job's parameters with their defaults
    assert 'name="run_date" value="2026-01-01"' in page and 'name="strict" value="true"' in page


def test_run_page_draws_the_graph_by_depth_with_states(served):
    _, client, seeded, _ = served
    page = client.get(f"/runs/{seeded.failed_run}").text
    nodes = dict(re.findall(r'id="node-(\w+)" data-task="\w+" data-state="(\w+)"', page))
    assert nodes == {"ingest": "SUCCESS", "clean": "FAILED", "report": "UPSTREAM_FAILED", "audit": "SUCCESS"}
    assert page.count('class="edge"') == 3
    assert 'id="run-state" class="badge bad" data-state="FAILED"' in page
    # every attempt listed, the retry too
    assert len(re.findall(r"<tr data-task-run=", page)) == 5
    # the run's parameters and the run page's cancel / repair buttons for a finished run
    assert "<td>strict</td><td><code>true</code></td>" in page
    assert re.search(r'id="cancel-button" hidden', page) and not re.search(r'id="repair-open"[^>]*hidden', page)


def test_repair_dialog_preselects_failed_tasks_and_what_they_skipped(served):
    _, client, seeded, _ = served
    page = client.get(f"/runs/{seeded.failed_run}").text
    boxes = dict(re.findall(r'name="rerun" value="(\w+)" ?(checked)?>', page))
    assert {k for k, v in boxes.items() if v} == {"clean", "report"}
    assert set(boxes) == {"ingest", "clean", "report", "audit"}


def test_repair_history_and_a_running_run(served):
    _, client, seeded, _ = served
    page = client.get(f"/runs/{seeded.repaired_run}").text
    section = page[page.index('id="repair-history"'):]
    assert "ORIGINAL" in section and "REPAIR" in section and "clean, report" in section
    assert "<td>strict</td><td><code>false</code></td>" in page   # the repair's override
    running = client.get(f"/runs/{seeded.running_run}").text
    assert 'data-terminal="false"' in running and re.search(r'id="repair-open"[^>]*hidden', running)
    assert client.get("/runs/999999").status_code == 404


def test_task_run_page_shows_the_error_the_failing_cell_and_the_cluster_log(served):
    _, client, seeded, _ = served
    page = client.get(f"/task-runs/{seeded.failed_task_run}").text
    assert ERROR in page
    cell = re.search(r'<pre class="code" id="failing-cell">(.*?)</pre>', page, re.S).group(1)
    assert "raise ValueError" in cell and "never reached" not in cell
    assert "cluster-main.log (300 lines, the last 200 shown)" in page
    assert "line 299" in page and "line 99\n" not in page
    assert "run_date = 2026-01-01" in page
    ingest = client.get(f"/runs/{seeded.failed_run}").text
    ingest_tr = re.search(r'<td>ingest</td><td><a href="/task-runs/(\d+)">', ingest).group(1)
    assert "rows = 1200" in client.get(f"/task-runs/{ingest_tr}").text   # its task values


def test_notebook_renders_with_nbconvert_and_is_cached(served):
    _, client, seeded, _ = served
    first = client.get(f"/task-runs/{seeded.failed_task_run}/notebook")
    assert first.status_code == 200 and "17 rows have no customer_id" in first.text and "jp-Notebook" in first.text
    from course.server.pages import notebook
    cached = len(notebook._cache)   # noqa: SLF001 - the cache is what this test is about
    assert client.get(f"/task-runs/{seeded.failed_task_run}/notebook").text == first.text
    assert len(notebook._cache) == cached  # noqa: SLF001


def _events(client: httpx.Client, run_id: int, until, timeout: float = 30.0) -> list[dict]:
    """The stream's `state` events until `until(events)` holds."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    with client.stream("GET", f"/runs/{run_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "state":
                events.append(json.loads(line[6:]))
                if until(events):
                    break
            assert time.monotonic() < deadline, events
    return events


def test_live_stream_sends_each_change_and_ends_when_the_run_ends(served):
    server, client, seeded, home = served
    done = _events(client, seeded.ok_run, lambda e: False)   # a finished run: one event, then the stream ends
    assert len(done) == 1 and done[0]["terminal"] and done[0]["state"] == "SUCCESS"

    def move_the_run():
        time.sleep(1.0)
        with History(home / "history.db") as h:
            ingest = h.latest_task_runs(seeded.running_run)["ingest"].task_run_id
            h.update_task_run(ingest, life_cycle_state="TERMINATED", result_state="SUCCESS")
            time.sleep(1.0)
            h.set_run_state(seeded.running_run, "TERMINATED", "SUCCESS")

    mover = threading.Thread(target=move_the_run)
    mover.start()
    events = _events(client, seeded.running_run, lambda e: e[-1]["terminal"])
    mover.join()
    states = [(e["state"], e["tasks"]["ingest"]["state"]) for e in events]
    assert states[0] == ("RUNNING", "RUNNING")
    assert ("RUNNING", "SUCCESS") in states and states[-1] == ("SUCCESS", "SUCCESS")


def test_graph_layout_puts_each_task_right_of_its_dependencies():
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
    assert depths(deps) == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 0}
    laid = layout(deps, {"a": "SUCCESS"})
    x = {n.key: n.x for n in laid.nodes}
    assert x["a"] == x["e"] < x["b"] == x["c"] < x["d"]
    assert len(laid.edges) == 4 and laid.width > x["d"]
    assert {n.key: n.state for n in laid.nodes}["b"] == "PENDING"


def test_lessons_get_a_page_link_only_while_a_workspace_answers(served, monkeypatch):
    server, client, seeded, _ = served
    from course.server.pages import links

    monkeypatch.setenv("DATABRICKS_HOST", server.host)
    link = links.page_link(f"/task-runs/{seeded.failed_task_run}")
    assert link == f"{server.host}/task-runs/{seeded.failed_task_run}"
    assert ERROR in client.get(link.removeprefix(server.host)).text
    assert client.get(f"/jobs/{seeded.job_id}/runs/{seeded.failed_run}").status_code == 200
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:9")   # nothing listens on the discard port
    monkeypatch.setattr(links, "DEFAULT_HOST", "http://127.0.0.1:9")
    assert links.page_link("/jobs") is None


COMMENTED_BUNDLE = """# Our team's jobs. Keep this comment!
bundle:
  name: team

resources:
  jobs:
    orders:
      name: orders job   # the name people see
      email_notifications:
        on_failure: [ops@example.com]
      tasks:
        - task_key: extract   # first
          notebook_task:
            notebook_path: ./pages_job/extract.ipynb
            base_parameters: {source: s3}
"""


def _editor_form(bundle: Path, **changes) -> dict:
    form = {"name": "orders job", "file": str(bundle), "job_key": "orders",
            "tasks": [{"task_key": "extract", "notebook_path": "tests/server/pages_job/extract.ipynb",
                       "depends_on": [], "run_if": "ALL_SUCCESS", "max_retries": "2", "timeout_seconds": "0"},
                      {"task_key": "transform", "notebook_path": "tests/server/pages_job/transform.ipynb",
                       "depends_on": ["extract"], "run_if": "ALL_DONE", "max_retries": "0", "timeout_seconds": "600"}],
            "parameters": [{"name": "fail_transform", "default": "false"}],
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "Europe/Amsterdam", "paused": True}}
    form.update(changes)
    return form


def test_editor_saves_into_the_bundle_keeping_comments_and_refuses_a_bad_job(served, tmp_path):
    _, client, _, _ = served
    bundle = Path(__file__).parent / f".editor-test-{tmp_path.name}.yml"   # next to pages_job/, git-ignored name
    bundle.write_text(COMMENTED_BUNDLE)
    try:
        assert "notebooks/01_jobs_vs_notebooks.ipynb" in client.get("/jobs/new").text   # the notebook picker
        preview = client.post("/jobs/editor/preview", json=_editor_form(bundle))
        assert preview.status_code == 200 and bundle.read_text() == COMMENTED_BUNDLE   # a preview writes nothing
        saved = client.post("/jobs/editor/save", json=_editor_form(bundle))
        assert saved.status_code == 200, saved.text
        text = bundle.read_text()
        assert text == preview.text
        for kept in ("# Our team's jobs. Keep this comment!", "# the name people see", "# first",
                     "on_failure: [ops@example.com]", "base_parameters: {source: s3}"):
            assert kept in text
        from course.jobs.spec import load_job
        job = load_job(bundle, job_key="orders").settings
        assert [t.task_key for t in job.tasks] == ["extract", "transform"]
        assert job.tasks[0].max_retries == 2 and job.tasks[1].run_if.value == "ALL_DONE"
        assert job.tasks[1].timeout_seconds == 600 and job.schedule.pause_status.value == "PAUSED"
        assert job.schedule.quartz_cron_expression == "0 0 2 * * ?"
        job_id = saved.json()["job_id"]
        page = client.get(f"/jobs/{job_id}").text
        assert "orders job" in page and f'href="/jobs/{job_id}/edit"' in page
        assert '"task_key": "transform"' in client.get(f"/jobs/{job_id}/edit").text
        # Pause on the job page writes pause_status into the file, comments kept, and the history's settings
        assert 'data-kind="file"' in page
        paused = client.post(f"/jobs/{job_id}/pause", json={"block": "schedule", "paused": False})
        assert paused.status_code == 200, paused.text
        assert "pause_status: UNPAUSED" in bundle.read_text() and "# the name people see" in bundle.read_text()
        assert '<span class="badge ok" id="pause-status">Active</span>' in client.get(f"/jobs/{job_id}").text
        client.post(f"/jobs/{job_id}/pause", json={"block": "schedule", "paused": True}).raise_for_status()
        text = bundle.read_text()
        assert "pause_status: PAUSED" in text
        # a dependency on a task that does not exist: one sentence naming the field, the file unchanged
        bad = _editor_form(bundle, tasks=[{"task_key": "transform", "notebook_path": "tests/server/pages_job/transform.ipynb",
                                           "depends_on": ["nope"]}])
        refused = client.post("/jobs/editor/save", json=bad)
        assert refused.status_code == 400 and "tasks[0].depends_on[0]" in refused.json()["message"]
        assert "'nope' does not exist" in refused.json()["message"] and bundle.read_text() == text
        assert client.post("/jobs/editor/save", json=_editor_form(bundle, tasks=[])).json()["message"] == \
            "a job needs at least one task"
    finally:
        bundle.unlink(missing_ok=True)


def test_a_running_clusters_spark_ui_answers_and_the_run_pages_link_it_until_it_stops(served, monkeypatch):
    """One real Spark Connect JVM with the server's switch on (its launcher sets it for its children),
    its log where the run's clusters write theirs: the UI answers, both pages link it, then forget it."""
    from course.jobs.local.compute.cluster import UI_SWITCH, LocalCluster

    server, client, seeded, home = served
    monkeypatch.delenv(UI_SWITCH, raising=False)
    assert LocalCluster(name="probe").ui_port is None   # the runner's default: no UI
    child_environment = server.state.launcher.environment()
    monkeypatch.setenv(UI_SWITCH, "0")   # a learner's `DAY7_SPARK_UI=0 runner.py serve` keeps it off
    assert server.state.launcher.environment()[UI_SWITCH] == "0"
    monkeypatch.setenv(UI_SWITCH, child_environment[UI_SWITCH])   # as in a run's child process
    with History(home / "history.db") as h:   # a run of its own: another test ends the seeded running one
        running = h.create_run(seeded.job_id, "nightly orders", {"run_date": "2026-01-04"})
        h.set_run_state(running, "RUNNING")
        task_run = h.create_task_run(running, "ingest", attempt_number=0, depends_on=(),
                                     notebook_path="/jobs/ingest.ipynb", parameters={})
        h.update_task_run(task_run, life_cycle_state="RUNNING")
    run_dir = home / "runs" / str(running)
    with LocalCluster(name="ui-check", log_path=run_dir / "cluster-main.log", cores=1) as cluster:
        ui = httpx.get(cluster.ui_url, follow_redirects=True, timeout=30)
        assert ui.status_code == 200 and "Spark" in ui.text, ui.text[:300]
        link = f'class="spark-ui" href="{cluster.ui_url}"'
        assert link in client.get(f"/runs/{running}").text
        # a page opened before the JVM was up learns of it from its live stream
        assert _events(client, running, lambda e: True)[0]["spark_uis"] == [cluster.ui_url]
        assert link in client.get(f"/task-runs/{task_run}").text
        # an ended run links no UI (its JVM is gone), even with a record left behind (a killed runner)
        stale = home / "runs" / str(seeded.failed_run) / cluster.ui_file.name
        stale.write_text(cluster.ui_url, encoding="utf-8")
        try:
            assert 'class="spark-ui"' not in client.get(f"/runs/{seeded.failed_run}").text
            assert 'class="spark-ui"' not in client.get(f"/task-runs/{seeded.failed_task_run}").text
        finally:
            stale.unlink()
    assert not cluster.ui_file.exists()
    assert 'class="spark-ui"' not in client.get(f"/runs/{running}").text
    assert 'class="spark-ui"' not in client.get(f"/task-runs/{task_run}").text
