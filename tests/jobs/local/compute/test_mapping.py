"""Clusters named in DAY7_CLUSTERS, all-purpose cluster references, and bad input (no JVM here)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from course.jobs.local.compute import allpurpose
from course.jobs.local.compute.mapping import ClusterMapError, load_cluster_map
from compute_fixtures import BUNDLE
from runner_fixtures import REPO_ROOT, final_states, no_processes_left, run_from_json


def closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening, then released: nothing answers there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_mapped_endpoint_fails_the_task_in_one_line(tmp_path, day7_home):
    # Through runner.py, as a user runs it: nothing may outlive that process.
    port = closed_port()
    mapping = tmp_path / "clusters.yml"
    mapping.write_text(f"remote_etl: sc://127.0.0.1:{port}\n")
    env = dict(os.environ, DAY7_CLUSTERS=str(mapping))
    out = subprocess.run([sys.executable, str(REPO_ROOT / "runner.py"), "run", "--job", str(BUNDLE),
                          "--job-key", "mapped", "--json"],
                         capture_output=True, text=True, timeout=300, env=env, cwd=str(REPO_ROOT))
    assert out.returncode == 1, out.stdout + out.stderr
    run = run_from_json(out.stdout)
    task = run.tasks[0]
    assert final_states(run) == {"count_events": "FAILED"}, task.state.state_message
    assert task.state.life_cycle_state.value == "INTERNAL_ERROR"
    message = task.state.state_message
    assert message == (f"cluster 'remote_etl' is mapped to sc://127.0.0.1:{port} in {mapping}, "
                       "which does not answer (Connection refused)")
    assert f"the Spark Connect server sc://127.0.0.1:{port}" in out.stderr
    no_processes_left(day7_home)


@pytest.mark.parametrize("text, problem", [
    ("etl: http://10.0.0.5:7077\n", "cluster 'etl': expected sc://host:port or spark://host:port, got 'http://10.0.0.5:7077'"),
    ("etl: sc://10.0.0.5\n", "cluster 'etl': expected sc://host:port or spark://host:port, got 'sc://10.0.0.5'"),
    ("- sc://10.0.0.5:15002\n", "expected a mapping of cluster name to sc://host:port or spark://host:port; got a list"),
])
def test_a_malformed_mapping_file_is_named_with_its_entry(tmp_path, text, problem):
    mapping = tmp_path / "clusters.yml"
    mapping.write_text(text)
    with pytest.raises(ClusterMapError) as exc:
        load_cluster_map({"DAY7_CLUSTERS": str(mapping)})
    assert str(exc.value) == f"{mapping}: {problem}"


def test_a_malformed_mapping_file_stops_the_run_before_it_starts(tmp_path, day7_home):
    mapping = tmp_path / "clusters.json"
    mapping.write_text('{"remote_etl": "spark://host-without-port"}')
    env = dict(os.environ, DAY7_CLUSTERS=str(mapping))
    out = subprocess.run([sys.executable, str(REPO_ROOT / "runner.py"), "--job", str(BUNDLE), "--job-key", "mapped"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=str(REPO_ROOT))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cluster 'remote_etl': expected sc://host:port or spark://host:port" in out.stderr
    assert not (day7_home / "history.db").exists() or "run 1" not in out.stdout


def test_existing_cluster_id_names_its_all_purpose_cluster():
    assert allpurpose.cluster_key_of("${resources.clusters.shared_dev.id}") == "shared_dev"
    assert allpurpose.cluster_key_of("0123-456789-abcdefgh") == "0123-456789-abcdefgh"
    spec = allpurpose.ClusterSpec.from_resource("etl", {"autoscale": {"min_workers": 2, "max_workers": 8},
                                                        "autotermination_minutes": 20})
    assert (spec.workers, spec.autotermination_minutes) == (2, 20)


def test_clusters_start_names_the_known_clusters_when_the_key_is_wrong():
    out = subprocess.run([sys.executable, str(REPO_ROOT / "runner.py"), "clusters", "start", "shared_devv",
                          "--job", str(BUNDLE), "--job-key", "on_all_purpose"],
                         capture_output=True, text=True, timeout=120, cwd=str(REPO_ROOT))
    assert out.returncode == 2
    assert "resources.clusters has no cluster 'shared_devv' (clusters: shared_dev, quick_stop)" in out.stderr
    assert allpurpose.list_clusters() == []


def test_stopping_a_long_terminated_cluster_leaves_a_process_that_reused_its_pid_alone(day7_home):
    """`clusters stop` reads pids from the cluster's state file; after the cluster is gone the
    system may give those pids to other programs, which stop must never kill."""
    import time

    stopped_at = time.time()
    time.sleep(0.05)
    newcomer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        allpurpose.write_state("gone", {"key": "gone", "state": "TERMINATED", "reason": "idle",
                                        "supervisor_pid": newcomer.pid, "pids": [newcomer.pid],
                                        "started_at": stopped_at - 600, "stopped_at": stopped_at})
        assert allpurpose.stop("gone", timeout=2) is False
        assert newcomer.poll() is None, "stop killed a process that only reused the cluster's pid"
    finally:
        newcomer.kill()
        newcomer.wait()
