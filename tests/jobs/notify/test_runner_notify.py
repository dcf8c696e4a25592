"""A real run sends its job's notifications: e-mail to an SMTP server and webhooks on 127.0.0.1."""
from __future__ import annotations

import email
import email.policy

import pytest
from runner_fixtures import run_job, run_state
from notify_fixtures import hooks, smtp  # noqa: F401  (fixtures: real servers)

from course.platform import paths

pytestmark = pytest.mark.slow


def test_a_failing_run_alerts_job_and_task_recipients_once_each(smtp, hooks, monkeypatch, tmp_path):  # noqa: F811
    config, inbox = smtp
    monkeypatch.setenv("DAY7_SMTP", f"{config.host}:{config.port}")
    destinations = tmp_path / "hooks.yml"
    destinations.write_text(f"ops-hook: {hooks.url('ops')}\n")
    monkeypatch.setenv("DAY7_WEBHOOKS", str(destinations))

    result = run_job("alerts")

    assert run_state(result.run) == ("INTERNAL_ERROR", "FAILED")
    subjects = sorted(m["Subject"] for _, m in inbox.messages)
    # on_start and on_failure for the job; flaky's failed first attempt is held back
    # (alert_on_last_attempt), its success is sent; broken's failure is sent.
    assert len(subjects) == 4, subjects
    job_failure = [m for to, m in inbox.messages if to == ["team@example.com"] and "fail" in m["Subject"].lower()]
    assert len(job_failure) == 1
    assert f"run {result.run_id}" in job_failure[0]["Subject"]
    assert "broken" in job_failure[0].get_content()
    owner = [m["Subject"] for to, m in inbox.messages if to == ["owner@example.com"]]
    assert len(owner) == 2 and any("flaky" in s for s in owner) and any("broken" in s for s in owner), owner
    assert [(path, body["event_type"]) for path, body in hooks.posts] == [("/ops", "jobs.on_failure")]
    assert hooks.posts[0][1]["run"]["run_id"] == result.run_id
    assert any("email on_failure sent" in n for n in result.notes), result.notes


def test_without_an_smtp_server_the_alerts_wait_in_the_outbox(monkeypatch, tmp_path):
    monkeypatch.delenv("DAY7_SMTP", raising=False)
    destinations = tmp_path / "hooks.yml"
    destinations.write_text("ops-hook: http://127.0.0.1:9/unreachable\n")  # port 9: nothing listens
    monkeypatch.setenv("DAY7_WEBHOOKS", str(destinations))

    result = run_job("alerts")

    saved = sorted(paths.outbox_dir().glob("*.eml"))
    assert len(saved) == 4, [p.name for p in saved]
    first = email.message_from_bytes(saved[0].read_bytes(), policy=email.policy.default)
    assert first["To"]
    assert any("webhook on_failure" in n and "failed" in n for n in result.notes), result.notes
    assert any("outbox" in n for n in result.notes), result.notes


def test_a_malformed_smtp_setting_stops_the_run_before_it_starts(monkeypatch):
    from runner_fixtures import cli, job_args

    from course.jobs.local.history import History

    monkeypatch.setenv("DAY7_SMTP", "mail.example.com:not-a-port")
    code, _, err = cli(job_args("alerts"))
    assert code == 2
    assert "DAY7_SMTP" in err
    assert History().list_runs() == []
