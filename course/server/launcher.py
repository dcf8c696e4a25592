"""Runs and repairs the server starts: each in a child process, so the server stays responsive.

A child is `python -m course.server.worker …` (the engine, `LocalRunner`, as `runner.py run`
uses it; one spare worker waits with its imports done for the next command), forked from the lifeline's launcher thread with a death signal: nothing it starts
outlives the server, even a `kill -9` of it. The child records the run in the shared
history itself; the launcher waits only until the run (or repair) row exists, so
`run-now` answers with the run id at once, and a child that fails before that (a bad
parameter, a job file that no longer loads) becomes the API error with the child's message.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from course.jobs.local.compute.cluster import UI_SWITCH
from course.jobs.local.history import History
from course.platform import lifeline, paths

START_TIMEOUT_S = 120.0   # a loaded 2-core machine imports the kit slowly; a run row comes well before
POLL_S = 0.05


class LaunchError(Exception):
    """The child stopped before its run existed: `message` is its one-sentence reason."""


@dataclass
class Child:
    process: subprocess.Popen
    log: Path
    run_id: int | None = None


class Launcher:
    """Starts, repairs and cancels runs in child processes; `stop()` ends them all."""

    def __init__(self, history: History, home: Path):
        self.history = history
        self.home = home
        self.logs = home / "server" / "children"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._children: list[Child] = []
        self._lock = threading.Lock()
        self._spare: Child | None = None  # a worker with the engine imported, waiting for its command
        self._count = 0  # children started, for unique log names

    # ------------------------------------------------------------ public

    def run_now(self, source: dict, job_id: int, job_parameters: dict[str, str] | None = None,
                trigger: str = "ONE_TIME", trigger_time_ms: int | None = None, location: str | None = None) -> int:
        """Start a run of the job loaded from `source` ({"file", "job_key", "target"}); its run id."""
        args = ["run", "--job", source["file"], "--trigger", trigger,
                "--params", json.dumps(job_parameters or {})]
        if trigger_time_ms is not None:
            args += ["--trigger-time-ms", str(trigger_time_ms)]
        if location:
            args += ["--file-arrival-location", location]
        if source.get("job_key"):
            args += ["--job-key", source["job_key"]]
        if source.get("target"):
            args += ["--target", source["target"]]
        child = self._spawn(args, f"job-{job_id}")
        return self._wait_for(child, lambda: self._run_of(child, job_id))

    def repair(self, source: dict, run_id: int, rerun_tasks: list[str] | None, rerun_dependents: bool,
               job_parameters: dict[str, str] | None = None) -> int:
        """Start a repair of `run_id` (rerun_tasks None: its failed tasks); the new repair id."""
        before = self.history.latest_repair_id(run_id)
        args = ["repair", "--job", source["file"], "--run-id", str(run_id),
                "--params", json.dumps(job_parameters or {})]
        if source.get("job_key"):
            args += ["--job-key", source["job_key"]]
        if source.get("target"):
            args += ["--target", source["target"]]
        if rerun_tasks:
            args += ["--tasks", json.dumps(rerun_tasks)]
        if rerun_dependents:
            args.append("--dependents")
        child = self._spawn(args, f"repair-{run_id}")

        def new_repair() -> int | None:
            latest = self.history.latest_repair_id(run_id)
            return latest if latest is not None and latest != before else None
        return self._wait_for(child, new_repair)

    def cancel(self, run_id: int) -> bool:
        """Ask the process running `run_id` to cancel it (SIGTERM: the runner cancels, cleanup tasks run).
        False when no live process owns the run."""
        from course.jobs.local.history import owner_alive

        row = self.history.run_owner(run_id)
        if row is None or not owner_alive(*row):
            return False
        try:
            os.kill(row[0], signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    def warm(self) -> None:
        """Have a spare worker ready (imports done) for the next run or repair."""
        with self._lock:
            if self._spare is not None and self._spare.process.poll() is None:
                return
            self._spare = self._start(["--spare"], "worker", stdin=subprocess.PIPE)

    def stop(self, grace_s: float = 10.0) -> None:
        """Cancel every child still running (SIGTERM, then SIGKILL after `grace_s`)."""
        with self._lock:
            spare, self._spare = self._spare, None
            alive = [c for c in self._children if c.process.poll() is None]
        if spare is not None and spare.process.poll() is None:
            spare.process.kill()
        for c in alive:
            c.process.terminate()
        deadline = time.monotonic() + grace_s
        for c in alive:
            try:
                c.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.process.kill()

    # ------------------------------------------------------------ children

    def environment(self) -> dict[str, str]:
        """What a child runs with: this state folder, and its clusters' Spark UI on."""
        env = paths.child_environment()
        env["DAY7_HOME"] = str(self.home)
        env.setdefault(UI_SWITCH, "1")  # the pages link the Spark UI of a run's clusters (=0 keeps it off)
        return env

    def _start(self, args: list[str], label: str, stdin=subprocess.DEVNULL) -> Child:
        self._count += 1
        log = self.logs / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{self._count}.log"
        env = self.environment()

        def start() -> subprocess.Popen:
            with open(log, "wb") as out:
                return subprocess.Popen([sys.executable, "-m", "course.server.worker", *args],
                                        stdin=stdin, stdout=out, stderr=subprocess.STDOUT,
                                        env=env, cwd=str(paths.REPO_ROOT),
                                        preexec_fn=lifeline.process_group_preexec(signal.SIGTERM))
        child = Child(lifeline.launch(start), log)
        threading.Thread(target=child.process.wait, daemon=True, name=f"reap-{label}").start()
        return child

    def _spawn(self, args: list[str], label: str) -> Child:
        """A worker doing `args`: the spare one when it is ready (then a new spare is started), else a new one."""
        with self._lock:
            spare, self._spare = self._spare, None
        child = None
        if spare is not None and spare.process.poll() is None:
            try:
                spare.process.stdin.write((json.dumps(args) + "\n").encode())
                spare.process.stdin.close()
                child = spare
            except (BrokenPipeError, OSError):
                child = None
        if child is None:
            child = self._start(args, label)
        with self._lock:
            self._children = [c for c in self._children if c.process.poll() is None] + [child]
        threading.Thread(target=self.warm, daemon=True, name="day7-spare-worker").start()
        return child

    def _run_of(self, child: Child, job_id: int) -> int | None:
        return self.history.run_owned_by(child.process.pid, job_id)

    def _wait_for(self, child: Child, found) -> int:
        """Poll `found()` until it gives an id; the child's own message if it exits first."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            value = found()
            if value is not None:
                child.run_id = value
                return value
            if child.process.poll() is not None:
                value = found()  # it may have finished the whole run between two polls
                if value is not None:
                    return value
                raise LaunchError(last_message(child.log) or f"the run's process ended with exit code "
                                  f"{child.process.returncode} before starting (log: {child.log})")
            time.sleep(POLL_S)
        child.process.terminate()
        raise LaunchError(f"the run's process did not start a run within {START_TIMEOUT_S:.0f} s (log: {child.log})")


def last_message(log: Path) -> str:
    """The child's `error: …` line (its one-sentence reason), else its last line."""
    try:
        lines = [l.strip() for l in log.read_text(encoding="utf-8", errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("error: "):
            return line[len("error: "):]
    return lines[-1] if lines else ""
