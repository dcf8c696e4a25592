"""The process an all-purpose cluster is: `python -m course.jobs.local.compute.supervisor SPEC`.

Started detached by `allpurpose.ensure_running`. It starts the Spark Connect server
(and its standalone workers) as its own lifeline children, so they die with it even
if it is killed outright; it records their pids, port and state in the cluster's
state file; and it is the cluster's watchdog: every second it checks the JVM and
its idleness, and after `autotermination_minutes` without work it stops the
cluster and exits (state TERMINATED). SIGTERM (`runner.py clusters stop`) does
the same at once. It also keeps the cluster's warm REPLs (`repls.py`): kernels ready for
the runs' notebook tasks, also its lifeline children.

Work: the heartbeat file (touched by runs using the cluster and by `attach()`)
or the JVMs' CPU time growing faster than an idle server's housekeeping.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

from course.jobs.local.compute import allpurpose, repls
from course.jobs.local.compute.cluster import LocalCluster

BUSY_CPU_SECONDS = 0.2   # CPU per check interval above which the JVMs count as working
CHECK_SECONDS = 1.0


def _cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:  # executors under workers
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def main(spec_path: str) -> int:
    spec = allpurpose.ClusterSpec(**json.loads(open(spec_path).read()))
    key = spec.key
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state = {"key": key, "state": "PENDING", "supervisor_pid": os.getpid(), "workers": spec.workers,
             "autotermination_minutes": spec.autotermination_minutes, "log": str(allpurpose.log_file(key))}
    allpurpose.write_state(key, state)
    cluster = LocalCluster(spec.spark_conf, name=f"cluster-{allpurpose.safe(key)}",
                           log_path=allpurpose.log_file(key), workers=spec.workers)
    cluster.port = spec.port or cluster.port
    reason = "stopped"
    keeper = None
    try:
        cluster.start()
        if spec.repls:   # before RUNNING: a run that sees the cluster running finds them coming
            keeper = repls.ReplKeeper(key, cluster.url, spec.repls, log=lambda line: print(line, flush=True))
            keeper.start()
        pids = [cluster.process.pid, *(cluster.standalone.pids() if cluster.standalone else [])]
        state.update(state="RUNNING", port=cluster.port, url=cluster.url, pids=pids, started_at=time.time(),
                     master_json=cluster.standalone.json_url if cluster.standalone else None)
        allpurpose.write_state(key, state)
        print(f"all-purpose cluster {key} running at {cluster.url} (pids {pids})", flush=True)
        reason = _watch(key, spec, cluster, pids, stop, state)
    except Exception as exc:
        reason = f"failed to start: {exc}"
        print(reason, flush=True)
    finally:
        state.update(state="TERMINATING", reason=reason)
        allpurpose.write_state(key, state)
        if keeper is not None:
            keeper.stop()
        cluster.stop()
        state.update(state="TERMINATED", reason=reason, stopped_at=time.time())
        allpurpose.write_state(key, state)
        print(f"all-purpose cluster {key} terminated: {reason}", flush=True)
    return 0


def _watch(key, spec, cluster, pids, stop, state) -> str:
    """Until stopped, the JVM dies or the cluster was idle too long; returns why it ends."""
    limit = spec.autotermination_minutes * 60
    last_active = time.time()
    cpu = _cpu_seconds(pids)
    while not stop.wait(CHECK_SECONDS):
        if cluster.process.poll() is not None:
            return f"its Spark JVM exited (code {cluster.process.returncode})"
        now_cpu = _cpu_seconds(pids)
        if now_cpu - cpu > BUSY_CPU_SECONDS:
            last_active = time.time()
            state["last_active"] = last_active
            allpurpose.write_state(key, state)
        cpu = now_cpu
        try:
            last_active = max(last_active, allpurpose.heartbeat_file(key).stat().st_mtime)
        except OSError:
            pass
        if limit > 0 and time.time() - last_active > limit:
            return f"auto-terminated after {spec.autotermination_minutes:g} minutes without work"
    return "stopped"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
