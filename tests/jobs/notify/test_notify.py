"""Job notifications (course.jobs.notify): a real SMTP server and a real webhook receiver on 127.0.0.1."""
from __future__ import annotations

import email
import email.policy
import json
import time
from pathlib import Path

import pytest
from databricks.sdk.service import jobs

from course.platform import paths
from course.jobs import notify
from course.jobs.notify import Notifier, NotifyConfigError, SmtpConfig
from course.jobs.local.history import History

REPO = Path(__file__).resolve().parents[3]

# --------------------------------------------------------------------------- servers


from notify_fixtures import black_hole, free_port, hooks, smtp  # noqa: F401 (fixtures: real servers)


@pytest.fixture
def hist(tmp_path):
    with History(tmp_path / "history.db") as h:
        yield h


def settings(**job) -> jobs.JobSettings:
    tasks = job.pop("tasks", None) or [{"task_key": "bronze"}, {"task_key": "silver",
                                                                 "depends_on": [{"task_key": "bronze"}]}]
    return jobs.JobSettings.from_dict({"name": "day7-medallion", "tasks": tasks, **job})


class RunBuilder:
    """Drives a run through the real History and hands back jobs.Run / jobs.RunTask objects."""

    def __init__(self, hist: History, s: jobs.JobSettings):
        self.hist = hist
        job_id = hist.ensure_job(s.name, s)
        self.run_id = hist.create_run(job_id, s.name)
        hist.set_run_state(self.run_id, "RUNNING")

    def run(self) -> jobs.Run:
        return self.hist.get_run(self.run_id)

    def task(self, key: str, result: str | None = "SUCCESS", attempt: int = 0, message: str = "",
             life: str = "TERMINATED") -> tuple[jobs.Run, jobs.RunTask]:
        tr = self.hist.create_task_run(self.run_id, key, attempt_number=attempt, life_cycle_state="RUNNING")
        if result is not None:
            self.hist.update_task_run(tr, life_cycle_state=life, result_state=result, state_message=message)
        run = self.run()
        return run, notify.task_of(run, tr)

    def finish(self, result: str, message: str = "", life: str = "TERMINATED") -> jobs.Run:
        self.hist.set_run_state(self.run_id, life, result, message)
        return self.run()


def notifier(s, smtp_cfg=None, webhooks=None, **kw) -> Notifier:
    return Notifier(s, None, smtp=smtp_cfg, webhooks=webhooks or {}, **kw)


# --------------------------------------------------------------------------- job-level events


def test_run_start_success_and_failure_emails_carry_the_run(hist, smtp):
    cfg, inbox = smtp
    s = settings(email_notifications={"on_start": ["start@x.io"], "on_success": ["ok@x.io"],
                                      "on_failure": ["oncall@x.io", "lead@x.io"]})
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg)
    n.run_started(rb.run())
    rb.task("bronze")
    rb.task("silver", "FAILED", message="quarantine share 0.12 > 0.05")
    n.run_finished(rb.finish("FAILED", "Task silver failed with message: quarantine share 0.12 > 0.05",
                             life="INTERNAL_ERROR"))
    notes = n.close(5)

    assert [m["Subject"] for _, m in inbox.messages] == [
        f"[Day 7] Run started: day7-medallion (run {rb.run_id})",
        f"[Day 7] Run failed: day7-medallion (run {rb.run_id})",
    ]
    to, failed = inbox.messages[1]
    assert to == ["oncall@x.io", "lead@x.io"]
    text = failed.get_content()
    assert f"Run:        {rb.run_id}" in text
    assert "Result:     FAILED (a task failed; the life cycle state is INTERNAL_ERROR, as on Databricks)" in text
    assert "Failed task: silver: quarantine share 0.12 > 0.05" in text
    assert "Duration:" in text
    assert str(paths.runs_dir() / str(rb.run_id)) in text
    assert "bronze:" not in text  # only the failing task is named
    assert notes == ["email on_start sent to start@x.io", "email on_failure sent to oncall@x.io, lead@x.io"]


def test_success_and_success_with_failures_go_to_on_success_only(hist, smtp):
    cfg, inbox = smtp
    s = settings(email_notifications={"on_success": ["ok@x.io"], "on_failure": ["oncall@x.io"]})
    for result in ("SUCCESS", "SUCCESS_WITH_FAILURES"):
        n = notifier(s, cfg)
        n.run_finished(RunBuilder(hist, s).finish(result))
        n.close(5)
    assert [to for to, _ in inbox.messages] == [["ok@x.io"], ["ok@x.io"]]
    assert all("succeeded" in m["Subject"] for _, m in inbox.messages)


@pytest.mark.parametrize("life,result,word", [
    ("TERMINATED", "FAILED", "failed"),
    ("TERMINATED", "TIMEDOUT", "timed out"),
    ("INTERNAL_ERROR", "FAILED", "failed"),
])
def test_failure_is_failed_timedout_or_internal_error(hist, smtp, life, result, word):
    cfg, inbox = smtp
    s = settings(email_notifications={"on_success": ["ok@x.io"], "on_failure": ["oncall@x.io"]})
    n = notifier(s, cfg)
    n.run_finished(RunBuilder(hist, s).finish(result, life=life))
    n.close(5)
    assert [to for to, _ in inbox.messages] == [["oncall@x.io"]]
    assert f"Run {word}:" in inbox.messages[0][1]["Subject"]


def test_a_run_still_running_sends_nothing_at_finish(hist, smtp):
    cfg, inbox = smtp
    s = settings(email_notifications={"on_success": ["ok@x.io"], "on_failure": ["oncall@x.io"]})
    n = notifier(s, cfg)
    n.run_finished(RunBuilder(hist, s).run())
    assert n.close(5) == [] and inbox.messages == []


# --------------------------------------------------------------------------- muting


@pytest.mark.parametrize("flag,final", [
    ("no_alert_for_canceled_runs", ("TERMINATED", "CANCELED")),
    ("no_alert_for_skipped_runs", ("SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED")),
])
def test_canceled_and_skipped_runs_alert_unless_muted(hist, smtp, hooks, flag, final):
    cfg, inbox = smtp
    life, result = final
    base = {"email_notifications": {"on_failure": ["oncall@x.io"]},
            "webhook_notifications": {"on_failure": [{"id": "ops"}]}}
    dests = {"ops": hooks.url("ops")}

    loud = notifier(settings(**base), cfg, dests)
    loud.run_finished(RunBuilder(hist, settings(**base)).finish(result, life=life))
    loud.close(5)
    assert len(inbox.messages) == 1 and len(hooks.posts) == 1  # by default they count as failures

    muted_settings = settings(**base, notification_settings={flag: True})
    muted = notifier(muted_settings, cfg, dests)
    muted.run_finished(RunBuilder(hist, muted_settings).finish(result, life=life))
    notes = muted.close(5)
    assert len(inbox.messages) == 1 and len(hooks.posts) == 1
    assert notes == [f"on_failure not sent: the run was {'canceled' if 'canceled' in flag else 'skipped'} "
                     f"and {flag} is set"]


def test_job_muting_does_not_mute_task_notifications(hist, smtp):
    cfg, inbox = smtp
    s = settings(notification_settings={"no_alert_for_skipped_runs": True},
                 tasks=[{"task_key": "bronze"},
                        {"task_key": "silver", "email_notifications": {"on_failure": ["silver@x.io"]}}])
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg)
    n.task_finished(*rb.task("silver", "UPSTREAM_FAILED"), last_attempt=True)
    n.close(5)
    assert [to for to, _ in inbox.messages] == [["silver@x.io"]]
    assert inbox.messages[0][1]["Subject"].startswith("[Day 7] Task silver was skipped")


# --------------------------------------------------------------------------- task-level and retries


def task_settings(**task_extra) -> jobs.JobSettings:
    return settings(
        email_notifications={"on_failure": ["job@x.io"]},
        tasks=[{"task_key": "bronze", "max_retries": 2,
                "email_notifications": {"on_start": ["bstart@x.io"], "on_failure": ["bronze@x.io"],
                                        "on_success": ["bok@x.io"]}, **task_extra},
               {"task_key": "silver", "depends_on": [{"task_key": "bronze"}]}])


def test_task_alerts_on_every_failed_attempt_by_default(hist, smtp):
    cfg, inbox = smtp
    s = task_settings()
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg)
    for attempt, result in enumerate(["FAILED", "FAILED", "SUCCESS"]):
        run, task = rb.task("bronze", None, attempt=attempt)
        n.task_started(run, task)
        hist.update_task_run(task.run_id, life_cycle_state="TERMINATED", result_state=result, state_message="boom")
        run = rb.run()
        n.task_finished(run, notify.task_of(run, task.run_id), last_attempt=result == "SUCCESS")
    n.close(5)
    assert [to for to, _ in inbox.messages] == [
        ["bstart@x.io"], ["bronze@x.io"], ["bstart@x.io"], ["bronze@x.io"], ["bstart@x.io"], ["bok@x.io"]]
    first_failure = inbox.messages[1][1]
    assert "attempt 1)" in first_failure.get_content() and "Failed task: bronze: boom" in first_failure.get_content()
    assert "job@x.io" not in {a for to, _ in inbox.messages for a in to}  # job level waits for the run


def test_alert_on_last_attempt_waits_for_the_last_retry_and_skips_retry_starts(hist, smtp):
    cfg, inbox = smtp
    s = task_settings(notification_settings={"alert_on_last_attempt": True})
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg)
    for attempt in range(3):
        run, task = rb.task("bronze", None, attempt=attempt)
        n.task_started(run, task)
        hist.update_task_run(task.run_id, life_cycle_state="TERMINATED", result_state="FAILED")
        run = rb.run()
        n.task_finished(run, notify.task_of(run, task.run_id), last_attempt=attempt == 2)
    n.close(5)
    assert [to for to, _ in inbox.messages] == [["bstart@x.io"], ["bronze@x.io"]]
    assert "attempt 3)" in inbox.messages[1][1].get_content()


def test_excluded_and_disabled_tasks_send_nothing(hist, smtp):
    cfg, inbox = smtp
    s = task_settings()
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg)
    n.task_finished(*rb.task("bronze", "EXCLUDED"), last_attempt=True)
    n.task_finished(*rb.task("bronze", "DISABLED"), last_attempt=True)
    assert n.close(5) == [] and inbox.messages == []


# --------------------------------------------------------------------------- webhooks


def test_webhooks_post_the_databricks_payload_job_and_task(hist, hooks):
    s = settings(webhook_notifications={"on_start": [{"id": "a"}], "on_failure": [{"id": "a"}, {"id": "b"}]},
                 tasks=[{"task_key": "bronze", "webhook_notifications": {"on_failure": [{"id": "b"}]}}])
    rb = RunBuilder(hist, s)
    n = notifier(s, webhooks={"a": hooks.url("a"), "b": hooks.url("b")})
    n.run_started(rb.run())
    run, task = rb.task("bronze", "FAILED")
    n.task_finished(run, task, last_attempt=True)
    n.run_finished(rb.finish("FAILED", life="INTERNAL_ERROR"))
    notes = n.close(5)

    job = {"job_id": run.job_id, "name": "day7-medallion"}
    assert hooks.posts == [
        ("/a", {"event_type": "jobs.on_start", "workspace_id": 0, "run": {"run_id": rb.run_id}, "job": job}),
        ("/b", {"event_type": "jobs.on_failure", "workspace_id": 0, "task": {"task_key": "bronze"},
                "run": {"run_id": task.run_id, "parent_run_id": rb.run_id}, "job": job}),
        ("/a", {"event_type": "jobs.on_failure", "workspace_id": 0, "run": {"run_id": rb.run_id}, "job": job}),
        ("/b", {"event_type": "jobs.on_failure", "workspace_id": 0, "run": {"run_id": rb.run_id}, "job": job}),
    ]
    assert notes[1] == f"task bronze: webhook on_failure to destination b ({hooks.url('b')}) sent: HTTP 200"


def test_unknown_destination_refused_server_and_error_status_are_notes(hist, hooks, tmp_path, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}/gone"
    cfg = tmp_path / "hooks.json"
    cfg.write_text(json.dumps({"dead": dead, "broken": hooks.url("broken")}))
    monkeypatch.setenv("DAY7_WEBHOOKS", str(cfg))
    s = settings(webhook_notifications={"on_failure": [{"id": "nope"}, {"id": "dead"}, {"id": "broken"}]})
    n = Notifier(s)
    n.run_finished(RunBuilder(hist, s).finish("FAILED"))
    notes = n.close(5)
    assert notes == [
        f"webhook on_failure to destination nope not sent: unknown destination id (not in {cfg})",
        f"webhook on_failure to destination dead ({dead}) failed: connection refused",
        f"webhook on_failure to destination broken ({hooks.url('broken')}) failed: HTTP 500 Internal Server Error",
    ]


def test_a_hung_webhook_or_smtp_server_is_bounded(hist, black_hole):
    s = settings(email_notifications={"on_failure": ["a@x.io"]},
                 webhook_notifications={"on_failure": [{"id": "slow"}]})
    n = notifier(s, SmtpConfig("127.0.0.1", black_hole), {"slow": f"http://127.0.0.1:{black_hole}/"},
                 send_timeout=0.5)
    t0 = time.monotonic()
    n.run_finished(RunBuilder(hist, s).finish("FAILED"))
    assert time.monotonic() - t0 < 0.5  # queued, not sent on the caller's thread
    notes = n.close(5)
    assert time.monotonic() - t0 < 3
    assert notes[0].startswith(f"email on_failure to a@x.io failed (SMTP 127.0.0.1:{black_hole}: timed out)")
    assert notes[0].endswith(".eml") and list(paths.outbox_dir().glob("*.eml"))  # not lost
    assert notes[1].endswith("failed: timed out")


def test_close_gives_up_after_its_timeout(hist, black_hole):
    s = settings(webhook_notifications={"on_failure": [{"id": "slow"}]})
    n = notifier(s, webhooks={"slow": f"http://127.0.0.1:{black_hole}/"}, send_timeout=5)
    n.run_finished(RunBuilder(hist, s).finish("FAILED"))
    t0 = time.monotonic()
    notes = n.close(0.3)
    assert time.monotonic() - t0 < 1
    assert notes == ["notifications: stopped waiting after 0.3 s; messages still queued are dropped"]


# --------------------------------------------------------------------------- no SMTP: the outbox


def test_without_smtp_the_email_goes_to_the_outbox(hist, monkeypatch):
    monkeypatch.delenv("DAY7_SMTP", raising=False)
    s = settings(email_notifications={"on_failure": ["oncall@x.io"]})
    rb = RunBuilder(hist, s)
    n = Notifier(s)  # reads the environment: no DAY7_SMTP
    n.run_finished(rb.finish("FAILED", "Task silver failed with message: x"))
    notes = n.close(5)
    [saved] = list(paths.outbox_dir().glob("*.eml"))
    assert notes == [f"email on_failure to oncall@x.io saved to {saved} (no SMTP server: set DAY7_SMTP=host:port)"]
    msg = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "oncall@x.io" and msg["Subject"] == f"[Day 7] Run failed: day7-medallion (run {rb.run_id})"
    assert "Message:    Task silver failed with message: x" in msg.get_content()


def test_smtp_from_the_environment(hist, smtp, monkeypatch):
    cfg, inbox = smtp
    monkeypatch.setenv("DAY7_SMTP", f"127.0.0.1:{cfg.port}")
    monkeypatch.setenv("DAY7_SMTP_FROM", "kit@example.org")
    s = settings(email_notifications={"on_success": ["ok@x.io"]})
    n = Notifier(s)
    n.run_finished(RunBuilder(hist, s).finish("SUCCESS"))
    assert n.close(5) == ["email on_success sent to ok@x.io"]
    assert inbox.messages[0][1]["From"] == "kit@example.org"
    assert not list(paths.outbox_dir().glob("*.eml"))


# --------------------------------------------------------------------------- health


def test_health_threshold_helper():
    assert notify.health_threshold_seconds(settings()) is None
    s = settings(health={"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 600},
                                   {"metric": "STREAMING_BACKLOG_BYTES", "op": "GREATER_THAN", "value": 5},
                                   {"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 300}]})
    assert notify.health_threshold_seconds(s) == 300


def test_the_day7_job_warns_after_1200_seconds_and_mails_failures():
    from course.jobs.spec import load_job

    s = load_job(REPO / "databricks.yml").settings
    assert notify.health_threshold_seconds(s) == 1200
    assert s.email_notifications.on_failure == ["day7-learner@example.com"]


def test_duration_warning_fires_once_while_the_run_goes_on(hist, smtp, hooks):
    cfg, inbox = smtp
    s = settings(health={"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 1}]},
                 email_notifications={"on_duration_warning_threshold_exceeded": ["slow@x.io"],
                                      "on_success": ["ok@x.io"]},
                 webhook_notifications={"on_duration_warning_threshold_exceeded": [{"id": "h"}]})
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg, {"h": hooks.url("h")})
    n.run_started(rb.run())  # arms the 1 s timer
    deadline = time.monotonic() + 5
    while len(n.notes) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    n.duration_exceeded(rb.run())  # a second report of the same run: ignored
    n.run_finished(rb.finish("SUCCESS"))
    n.close(5)
    assert [to for to, _ in inbox.messages] == [["slow@x.io"], ["ok@x.io"]]
    assert "running longer than its duration threshold" in inbox.messages[0][1]["Subject"]
    assert [p["event_type"] for _, p in hooks.posts] == ["jobs.on_duration_warning_threshold_exceeded"]


def test_a_run_finishing_before_the_threshold_gets_no_warning(hist, smtp):
    cfg, inbox = smtp
    s = settings(health={"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 1}]},
                 email_notifications={"on_duration_warning_threshold_exceeded": ["slow@x.io"]})
    rb = RunBuilder(hist, s)
    n = notifier(s, cfg)
    n.run_started(rb.run())
    n.run_finished(rb.finish("SUCCESS"))
    time.sleep(1.3)
    assert n.close(5) == [] and inbox.messages == []


# --------------------------------------------------------------------------- bad configuration


@pytest.mark.parametrize("value,problem", [
    ("localhost:smtp", "the port 'smtp' is not a number"),
    ("localhost:0", "the port '0' is not a number from 1 to 65535"),
    ("::1", "an IPv6 address goes in brackets"),
    ("user@host:25", "expected host:port"),
])
def test_malformed_day7_smtp_is_a_clear_error(monkeypatch, value, problem):
    monkeypatch.setenv("DAY7_SMTP", value)
    s = settings(email_notifications={"on_failure": ["a@x.io"]})
    with pytest.raises(NotifyConfigError, match=f"DAY7_SMTP={value!r}") as err:
        Notifier(s)
    assert problem in str(err.value)
    Notifier(settings())  # a job without e-mails never reads it


def test_password_without_user_is_refused(monkeypatch):
    monkeypatch.setenv("DAY7_SMTP", "localhost:1025")
    monkeypatch.setenv("DAY7_SMTP_PASSWORD", "secret")
    with pytest.raises(NotifyConfigError, match="DAY7_SMTP_USER is not"):
        notify.load_smtp_config()


@pytest.mark.parametrize("name,text,problem", [
    ("hooks.json", '{"a": "http://x",}', "hooks.json:1: not valid JSON"),
    ("hooks.yml", "a: [unclosed", "hooks.yml:1: not valid YAML"),
    ("hooks.yml", "- http://x", "expected a mapping of destination id to URL"),
    ("hooks.json", '{"a": "ftp://x"}', "destination 'a': expected an http:// or https:// URL, got 'ftp://x'"),
    ("hooks.yml", "a:\n  url: http://x", "destination 'a': expected an http:// or https:// URL"),
])
def test_malformed_webhook_file_names_the_file_and_the_problem(tmp_path, monkeypatch, name, text, problem):
    path = tmp_path / name
    path.write_text(text)
    monkeypatch.setenv("DAY7_WEBHOOKS", str(path))
    s = settings(webhook_notifications={"on_failure": [{"id": "a"}]})
    with pytest.raises(NotifyConfigError) as err:
        Notifier(s)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_missing_webhook_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DAY7_WEBHOOKS", str(tmp_path / "nope.yml"))
    with pytest.raises(NotifyConfigError, match=r"DAY7_WEBHOOKS=.*nope\.yml: cannot read the file"):
        notify.load_webhook_destinations()


def test_yaml_webhook_file(tmp_path, monkeypatch):
    path = tmp_path / "hooks.yaml"
    path.write_text("ops: https://hooks.example.com/a\n'42': http://127.0.0.1:9/b\n")
    monkeypatch.setenv("DAY7_WEBHOOKS", str(path))
    assert notify.load_webhook_destinations() == (
        {"ops": "https://hooks.example.com/a", "42": "http://127.0.0.1:9/b"}, str(path))


def test_credentials_are_never_sent_without_starttls(hist, smtp):
    cfg, inbox = smtp  # the test server offers no STARTTLS
    s = settings(email_notifications={"on_failure": ["a@x.io"]})
    heard: list[str] = []
    n = Notifier(s, on_note=heard.append, smtp=SmtpConfig(cfg.host, cfg.port, "kit", "secret"), webhooks={})
    n.run_finished(RunBuilder(hist, s).finish("FAILED"))
    notes = n.close(5)
    assert heard == notes and len(notes) == 1
    assert "STARTTLS extension not supported by server" in notes[0] and "saved to" in notes[0]
    assert inbox.messages == []


def test_a_task_a_repair_fixed_is_not_listed_as_failed():
    """attempt_number restarts at 0 in a repair: the latest task run is the one with the highest id."""
    def task(run_id, attempt, result):
        return jobs.RunTask(task_key="a", run_id=run_id, attempt_number=attempt,
                            state=jobs.RunState(life_cycle_state=jobs.RunLifeCycleState.TERMINATED,
                                                result_state=jobs.RunResultState(result)))
    run = jobs.Run(run_id=1, tasks=[task(2, 0, "FAILED"), task(3, 1, "FAILED"), task(10, 0, "SUCCESS")])
    assert notify.failed_tasks(run) == []
    run.tasks.append(task(11, 0, "FAILED"))
    assert [t.run_id for t in notify.failed_tasks(run)] == [11]


def test_health_rules_the_kit_cannot_watch_are_named_at_run_start():
    s = settings(health={"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 600},
                                   {"metric": "STREAMING_BACKLOG_BYTES", "op": "GREATER_THAN", "value": 5}]},
                 tasks=[{"task_key": "bronze", "health": {"rules": [
                     {"metric": "STREAMING_BACKLOG_SECONDS", "op": "GREATER_THAN", "value": 9}]}}])
    said: list[str] = []
    n = Notifier(s, on_note=said.append, smtp=None, webhooks={})
    assert said == [
        "health rule STREAMING_BACKLOG_BYTES of the job is not watched locally (no streaming backlog "
        "is measured): it is deployed, not alerted on",
        "health rule STREAMING_BACKLOG_SECONDS of task 'bronze' is not watched locally (no streaming "
        "backlog is measured): it is deployed, not alerted on"]
    n.close(1)
    said.clear()
    Notifier(settings(), on_note=said.append, smtp=None, webhooks={}).close(1)
    assert said == []
