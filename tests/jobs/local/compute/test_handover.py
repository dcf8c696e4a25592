"""A task's side of an all-purpose cluster's warm REPLs (compute/handover.py), without a cluster:
a REPL started with another start-up environment is left alone and the task gets a kernel of
the run's own pool (a real one), saying why. The REPL here is this test's own process, whose
environment psutil reads as the run reads a REPL's."""
from __future__ import annotations

import json
import os
import sys

from course.jobs.local.compute import allpurpose, repls
from course.jobs.local.compute.env import child_env
from course.jobs.local.compute.handover import WarmPool
from course.jobs.local.compute.kernels import KernelPool


def test_a_repl_started_with_another_environment_is_not_taken(day7_home, tmp_path):
    # a running cluster whose supervisor (this process) has published one REPL
    allpurpose.write_state("dev", {"key": "dev", "state": "RUNNING", "supervisor_pid": os.getpid()})
    folder = repls.folder("dev")
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"supervisor_pid": os.getpid(), "python": sys.executable,
                                                    "wanted": 2, "ready": 1, "starting": 0}))
    ready = folder / "ready-1.json"
    ready.write_text(json.dumps({"pid": os.getpid(), "connection_file": str(tmp_path / "kernel.json"),
                                 "kernel_name": "python3"}))
    env = child_env("sc://127.0.0.1:15002")   # this run's kernels get SPARK_REMOTE; the "REPL" has none
    notes: list[str] = []
    own = KernelPool(child_env(None), size=1, cwd=str(tmp_path))
    pool = WarmPool("dev", env, str(tmp_path), lambda: own, notes.append)
    try:
        kernel = pool.take(timeout=120)
        try:
            assert kernel.foreign is None and kernel.pid != os.getpid()   # a kernel of the run's own
            assert kernel.error is None, kernel.error
        finally:
            kernel.release()
    finally:
        pool.close()
    assert ready.exists()                                               # the REPL was not taken
    # (which names: those of this process's start-up environment that the run's differs in, first three)
    assert len(notes) == 1 and notes[0].startswith(
        "all-purpose cluster dev: no warm REPL for this task (its REPLs started with other values of "), notes
    assert notes[0].endswith("); starting a kernel"), notes
