"""The Jobs pages in a real browser: Debian's chromium driven by Playwright against a local workspace.

A learner's path through the pages, on a job created the way lesson 06 creates one (its
notebooks imported and the job created through the API with databricks-sdk): Run now →
the run's graph changes state without a reload (a MutationObserver records each change,
and a marker set on the page survives) → the failed task's page shows the error, its
failing cell and the executed notebook → Repair run with the failed task and its
dependent preselected and a job parameter changed → the graph turns green, the repair
history appears → Pause the schedule, and `jobs/get` says PAUSED. Screenshots go to
.day7/test-artifacts/server/ (git-ignored): look at them.

Needs /usr/bin/chromium (`make test` installs it as root) and `playwright`; skipped otherwise.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from browser_fixtures import browser_page, require_browser
import yaml

from course.platform import paths
from course.platform.paths import REPO_ROOT
from course.server.serving import BackgroundServer
from course.server.state import ServerState

ARTIFACTS = REPO_ROOT / ".day7" / "test-artifacts" / "server"
JOB_DIR = Path(__file__).parent / "pages_job"
FOLDER = "/Users/learner@example.com/orders"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    require_browser()
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.workspace import ImportFormat

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    home = tmp_path_factory.mktemp("pages-browser-home")
    with paths.using_home(home):
        server = BackgroundServer(ServerState.open(home)).start()
        try:
            sdk = WorkspaceClient(host=server.host, token=server.state.token, auth_type="pat")
            sdk.workspace.mkdirs(FOLDER)
            for name in ("extract", "transform", "load"):
                sdk.workspace.import_(f"{FOLDER}/{name}", format=ImportFormat.JUPYTER, overwrite=True,
                                      content=base64.b64encode((JOB_DIR / f"{name}.ipynb").read_bytes()).decode())
            job = yaml.safe_load((JOB_DIR / "databricks.yml").read_text())["resources"]["jobs"]["orders_daily"]
            for task in job["tasks"]:
                task["notebook_task"]["notebook_path"] = f"{FOLDER}/{task['task_key']}"
            job_id = sdk.api_client.do("POST", "/api/2.2/jobs/create", body=job)["job_id"]
            yield server, sdk, job_id
        finally:
            server.stop()


@pytest.fixture(scope="module")
def page(workspace):
    with browser_page(1300, 900, 90000) as page:
        yield page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# Records every state a graph node takes, and marks the document: a reload would lose both.
WATCH_GRAPH = """() => {
  window.__sameDocument = true;
  window.__changes = [];
  const record = (node) => window.__changes.push(node.dataset.task + ":" + node.dataset.state);
  document.querySelectorAll('#dag .node').forEach(record);
  new MutationObserver((ms) => ms.forEach((m) => record(m.target)))
    .observe(document.getElementById('dag'), {subtree: true, attributes: true, attributeFilter: ['data-state']});
}"""


def node_state(page, key: str) -> str:
    return page.get_attribute(f"#node-{key}", "data-state")


def test_run_watch_open_the_failure_repair_and_pause(workspace, page):
    server, sdk, job_id = workspace
    page.goto(f"{server.host}/jobs?token={server.state.token}")
    page.click("text=orders daily")
    page.wait_for_selector("#run-now-button")
    assert page.locator('input[name="fail_transform"]').input_value() == "true"
    shot(page, "1-job")

    # Run now: the page calls the API and opens the new run's page
    page.click("#run-now-button")
    page.wait_for_url("**/runs/*")
    run_id = int(page.url.rsplit("/", 1)[1])
    page.evaluate(WATCH_GRAPH)
    page.wait_for_function("document.getElementById('node-extract').dataset.state === 'RUNNING'")
    shot(page, "2-run-running")
    page.wait_for_function("document.getElementById('run-state').dataset.state === 'FAILED'")
    page.wait_for_selector("#repair-open:not([hidden])")
    changes = page.evaluate("window.__changes")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    assert "extract:RUNNING" in changes and "extract:SUCCESS" in changes and "transform:FAILED" in changes, changes
    assert node_state(page, "load") == "UPSTREAM_FAILED"
    shot(page, "3-run-failed")

    # the failed task's page: error, failing cell, executed notebook
    page.click("#node-transform")
    page.wait_for_url("**/task-runs/*")
    assert "quality gate: 42 orders arrived without a currency column" in page.inner_text("#error")
    assert "raise ValueError" in page.inner_text("#failing-cell")
    frame = page.frame_locator("#notebook")
    frame.locator("text=orders arrived without a currency column").first.wait_for()
    shot(page, "4-failed-task")

    # Repair run: transform and load preselected, extract not; run it with fail_transform=false
    page.go_back()
    page.wait_for_selector("#repair-open:not([hidden])")
    page.evaluate(WATCH_GRAPH)
    page.click("#repair-open")
    checked = page.eval_on_selector_all('input[name="rerun"]', "bs => bs.filter(b => b.checked).map(b => b.value)")
    assert sorted(checked) == ["load", "transform"]
    page.fill('#repair-form input[name="fail_transform"]', "false")
    shot(page, "5-repair-dialog")
    page.click("#repair-submit")
    page.wait_for_function("document.getElementById('run-state').dataset.state === 'SUCCESS'")
    page.wait_for_function("document.getElementById('repair-history').innerText.includes('REPAIR')")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    assert [node_state(page, k) for k in ("extract", "transform", "load")] == ["SUCCESS"] * 3
    page.wait_for_function("document.getElementById('run-parameters').innerText.includes('false')")
    assert "transform:RUNNING" in page.evaluate("window.__changes") or "transform:SUCCESS" in page.evaluate("window.__changes")
    shot(page, "6-run-repaired")
    run = sdk.jobs.get_run(run_id)
    assert run.state.result_state.value == "SUCCESS"
    assert [p.value for p in run.job_parameters if p.name == "fail_transform"] == ["false"]

    # Pause the schedule: the job's settings say PAUSED, the page offers Resume
    page.goto(f"{server.host}/jobs/{job_id}")
    assert page.inner_text("#pause-status") == "Active"
    assert len(page.locator("#next-fires li").all()) == 5
    page.click("#pause-toggle")
    page.wait_for_function("document.getElementById('pause-status').innerText === 'Paused'")
    assert page.inner_text("#pause-toggle") == "Resume"
    assert sdk.jobs.get(job_id).settings.schedule.pause_status.value == "PAUSED"
    # the matrix shows the repaired run: three green cells
    cells = page.eval_on_selector_all("#matrix a.cell", "cs => cs.map(c => c.dataset.state)")
    assert cells == ["SUCCESS"] * 3, cells
    shot(page, "7-job-paused")


def test_create_a_job_in_the_page(workspace, page, tmp_path):
    server, _, _ = workspace
    bundle = tmp_path / "my_jobs.yml"
    page.goto(f"{server.host}/jobs?token={server.state.token}")
    page.click("#new-job")
    page.fill("#job-name", "weekly summary")
    page.fill('input[name="file"]', str(bundle))
    row = page.locator("#task-rows tbody tr").first
    row.locator('[data-f="task_key"]').fill("summary")
    row.locator('[data-f="notebook_path"]').fill("tests/server/pages_job/load.ipynb")
    row.locator('[data-f="max_retries"]').fill("1")
    page.click("#daily-2am")
    assert page.input_value("#cron") == "0 0 2 * * ?"
    page.click("#view-yaml")
    page.wait_for_selector("#yaml-card:not([hidden])")
    pane = page.inner_text("#yaml-pane")
    assert "quartz_cron_expression: 0 0 2 * * ?" in pane and "task_key: summary" in pane and not bundle.exists()
    shot(page, "8-create-job")
    page.click("#save-job")
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert page.inner_text("h1").startswith("weekly summary")
    assert len(page.locator("#next-fires li").all()) == 5
    assert "max_retries: 1" in bundle.read_text()
    # a bundle job's Pause writes pause_status into its file
    page.click("#pause-toggle")
    page.wait_for_function("document.getElementById('pause-status').innerText === 'Paused'")
    assert "pause_status: PAUSED" in bundle.read_text()
    shot(page, "9-created-job-paused")
