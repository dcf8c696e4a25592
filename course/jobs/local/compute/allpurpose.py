"""All-purpose clusters: Spark Connect servers that outlive runs, as on Databricks.

A bundle's `resources.clusters.<key>` is an all-purpose cluster; a task with
`existing_cluster_id: ${resources.clusters.<key>.id}` (or the key, or any other id)
runs on it. Unlike a job cluster it is not a child of the runner: the first run
that needs it starts a detached supervisor (`supervisor.py`), which starts the JVM
(and its standalone workers), records pid, port and state in
`<DAY7_HOME>/clusters/<key>.json`, and stops everything after
`autotermination_minutes` without work, whether or not any kit process is running.
The next run (or a notebook's `attach("<key>")`) finds it there, warm.

Work is a run using it (it touches `<key>.heartbeat` every few seconds) or the
JVM spending CPU on queries (a notebook attached to it).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course.platform import paths

DEFAULT_AUTOTERMINATION_MINUTES = 60   # an id the bundle does not declare (Databricks' UI offers 120)
_REF = re.compile(r"^\$\{resources\.clusters\.([^.}]+)\.id\}$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class ClusterStartError(RuntimeError):
    """The all-purpose cluster could not start; the message names its log."""


@dataclass
class ClusterSpec:
    key: str
    spark_conf: dict = field(default_factory=dict)
    workers: int = 0
    autotermination_minutes: float = DEFAULT_AUTOTERMINATION_MINUTES   # 0: never
    port: int | None = None     # chosen by the starter, so kernels know where to connect early
    repls: int = 0              # warm kernels its supervisor keeps for notebook tasks (repls.py)

    @classmethod
    def from_resource(cls, key: str, resource: dict | None) -> "ClusterSpec":
        """From a bundle's `resources.clusters.<key>` mapping (Clusters API fields)."""
        resource = resource or {}
        workers = resource.get("num_workers") or (resource.get("autoscale") or {}).get("min_workers") or 0
        minutes = resource.get("autotermination_minutes", DEFAULT_AUTOTERMINATION_MINUTES)
        from course.jobs.local.compute.repls import wanted_count

        return cls(key=key, spark_conf={str(k): str(v) for k, v in (resource.get("spark_conf") or {}).items()},
                   workers=int(workers), autotermination_minutes=float(minutes), repls=wanted_count())


def cluster_key_of(existing_cluster_id: str) -> str:
    """`${resources.clusters.K.id}` -> K; any other id names a cluster of its own."""
    m = _REF.match(existing_cluster_id.strip())
    return m.group(1) if m else existing_cluster_id.strip()


def safe(key: str) -> str:
    return _SAFE.sub("_", key)


def state_file(key: str) -> Path:
    return paths.clusters_dir() / f"{safe(key)}.json"


def heartbeat_file(key: str) -> Path:
    return paths.clusters_dir() / f"{safe(key)}.heartbeat"


def log_file(key: str) -> Path:
    return paths.clusters_dir() / f"{safe(key)}.log"


def read_state(key: str) -> dict | None:
    try:
        return json.loads(state_file(key).read_text())
    except (OSError, ValueError):
        return None


def write_state(key: str, state: dict) -> None:
    """Atomically: a reader never sees half a file."""
    path = state_file(key)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)


def touch(key: str) -> None:
    """Record work on the cluster now (its idle time starts again)."""
    heartbeat_file(key).touch()


def alive(pid: int | None) -> bool:
    import psutil

    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def is_running(state: dict | None) -> bool:
    return bool(state) and state.get("state") in ("PENDING", "RUNNING") and alive(state.get("supervisor_pid"))


def is_up(state: dict | None) -> bool:
    """Its supervisor still lives (starting, running or stopping)."""
    return bool(state) and state.get("state") != "TERMINATED" and alive(state.get("supervisor_pid"))


@contextlib.contextmanager
def _locked(key: str):
    """One process at a time starts or stops a cluster (two runs may need it at once)."""
    with open(paths.clusters_dir() / f"{safe(key)}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running(spec: ClusterSpec, timeout: float = 180) -> dict:
    """The cluster's state once it is RUNNING: the one already up, or a new one."""
    with _locked(spec.key):
        state = read_state(spec.key)
        if is_up(state) and not is_running(state):  # still stopping: let it finish first
            _wait_gone(state["supervisor_pid"], timeout)
            state = read_state(spec.key)
        spawned = None if is_running(state) else _spawn(spec)
        deadline = time.monotonic() + timeout
        while True:
            state = read_state(spec.key) or {}
            if state.get("state") == "RUNNING" and alive(state.get("supervisor_pid")):
                touch(spec.key)
                return state
            gone = spawned.poll() is not None if spawned else not alive(state.get("supervisor_pid"))
            if state.get("state") == "TERMINATED" or gone:
                raise ClusterStartError(f"all-purpose cluster '{spec.key}' failed to start: "
                                        f"{state.get('reason') or 'its supervisor exited'}; see {log_file(spec.key)}")
            if time.monotonic() > deadline:
                raise ClusterStartError(f"all-purpose cluster '{spec.key}' did not start within {timeout:.0f} s; "
                                        f"see {log_file(spec.key)}")
            time.sleep(0.1)


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def _exited(proc) -> bool:
    import psutil

    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _wait_exited(procs: list, timeout: float) -> list:
    """The processes still running after up to `timeout` s. A zombie has exited: the
    supervisor is one until the process that started it (a runner, a kernel, the local
    workspace) reaps it, and psutil.wait_procs would wait out the whole timeout for it."""
    deadline = time.monotonic() + timeout
    left = [p for p in procs if not _exited(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if not _exited(p)]
    return left


def _spawn(spec: ClusterSpec) -> subprocess.Popen:
    """Start the supervisor detached (a session of its own, no death signal): it outlives us."""
    spec_path = paths.clusters_dir() / f"{safe(spec.key)}.spec.json"
    spec_path.write_text(json.dumps(asdict(spec)))
    write_state(spec.key, {"key": spec.key, "state": "PENDING", "supervisor_pid": None})
    touch(spec.key)
    with open(log_file(spec.key), "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "course.jobs.local.compute.supervisor", str(spec_path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=paths.child_environment(), cwd=str(paths.REPO_ROOT))
    return process  # it records its own pid in the state file at once


def stop(key: str, timeout: float = 60) -> bool:
    """Stop the cluster and everything it started; False when it was not running."""
    import psutil

    with _locked(key):
        state = read_state(key)
        if not state:
            return False
        pids = [p for p in [state.get("supervisor_pid"), *state.get("pids", [])] if p]
        # A pid the state file names may have been reused since the cluster went away. Once it
        # is gone (terminated, or its supervisor dead) only a process created by its start is
        # the cluster's: the file's pids were all started before started_at was written (+1 s:
        # psutil's create_time rests on a boot time rounded to the second).
        gone = state.get("state") == "TERMINATED" or not alive(state.get("supervisor_pid"))
        born_before = (state.get("started_at") or state.get("stopped_at") or 0) + 1 if gone else float("inf")
        procs = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if proc.create_time() <= born_before:
                    procs.append(proc)
        was_running = is_running(state)
        if procs and alive(state.get("supervisor_pid")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(state["supervisor_pid"], signal.SIGTERM)
        left = _wait_exited(procs, timeout)
        for proc in left:  # did not stop in time: no process may outlive `clusters stop`
            with contextlib.suppress(psutil.Error):
                proc.kill()
        _wait_exited(left, 5)
        state = read_state(key) or state
        if state.get("state") != "TERMINATED":
            write_state(key, dict(state, state="TERMINATED", reason="stopped", stopped_at=time.time()))
        return was_running


def attached(state: dict) -> list[int]:
    """Pids of the processes (kernels, notebooks, tasks) connected to the cluster now."""
    import psutil

    port, own = state.get("port"), set(state.get("pids", []))
    if not port:
        return []
    try:
        conns = psutil.net_connections(kind="tcp")
        # its supervisor's children are the cluster's own warm REPLs (repls.py), not attached notebooks
        own |= {p.pid for p in psutil.Process(state["supervisor_pid"]).children()} if state.get("supervisor_pid") else set()
    except psutil.Error:
        return []
    return sorted({c.pid for c in conns if c.raddr and c.raddr.port == port and c.pid and c.pid not in own
                   and c.status == psutil.CONN_ESTABLISHED})


def list_clusters() -> list[dict]:
    """Every cluster this state folder knows, with state, uptime, idle time and attached pids."""
    out = []
    for path in sorted(paths.clusters_dir().glob("*.json")):
        if path.name.endswith(".spec.json"):
            continue
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        now = time.time()
        running = is_running(state)
        if not is_up(state) and state.get("state") != "TERMINATED":
            state = dict(state, state="TERMINATED", reason=state.get("reason") or "its supervisor is gone")
        heartbeat = heartbeat_file(state["key"])
        last = max(state.get("last_active", 0), heartbeat.stat().st_mtime if heartbeat.exists() else 0)
        state["uptime_s"] = now - state["started_at"] if running and state.get("started_at") else None
        state["idle_s"] = now - last if running and last else None
        state["attached"] = attached(state) if running else []
        if running:   # warm REPLs ready for notebook tasks (repls.py)
            from course.jobs.local.compute.repls import read_status

            state["repls_ready"] = (read_status(state["key"]) or {}).get("ready", 0)
        out.append(state)
    return out
