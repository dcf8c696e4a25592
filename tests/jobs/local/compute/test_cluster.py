"""The local job cluster: real JVMs. Elsewhere, to share cluster starts: tables through it and
a later local session in tests/jobs/local/test_runner_cluster.py; a cluster that dies with its
SIGKILLed parent in test_classcache.py (its second, archive-mapping cluster)."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from course.jobs.local.compute.cluster import ClusterError, LocalCluster, free_port

pytestmark = pytest.mark.slow


def test_cluster_start_failure_names_the_log(tmp_path):
    cluster = LocalCluster({"spark.driver.memory": "not-a-size"}, log_path=tmp_path / "c.log")
    with pytest.raises(Exception) as err:
        cluster.start(timeout=60)
    assert str(tmp_path / "c.log") in str(err.value)
    assert not cluster.running


def test_cluster_ports_are_outside_the_ephemeral_range_and_a_taken_port_is_not_taken_for_ready(tmp_path):
    """A port is chosen before the JVM binds it; any socket bound to port 0 meanwhile (a
    worker's, a kernel's) comes from the ephemeral range, so the port must not. And should the
    port be taken anyway, start() fails naming it instead of calling someone else's listener ready."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = {free_port() for _ in range(20)}
    assert all(1024 <= p < low or p > high for p in ports), ports
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        cluster = LocalCluster(log_path=tmp_path / "c.log")
        cluster.port = squatter.getsockname()[1]
        with pytest.raises(ClusterError) as err:
            cluster.start(timeout=60)
    assert f"port {cluster.port}" in str(err.value) and "another process" in str(err.value)
    assert not cluster.running


def driver_options(cluster: LocalCluster) -> str:
    command = cluster.command()
    return next(command[i + 1] for i, word in enumerate(command)
                if word == "--conf" and command[i + 1].startswith("spark.driver.extraJavaOptions="))


def test_the_driver_compiles_with_c1_unless_asked_and_the_clusters_own_options_come_last(tmp_path, monkeypatch):
    """C1 only by default (short queries, fresh generated classes: C2 cost more CPU than it saved);
    DAY7_JIT=full gives the JVM's own tiered compilation back; a spark_conf's own options follow
    the kit's, so a flag there (say -XX:TieredStopAtLevel=4) wins."""
    monkeypatch.delenv("DAY7_JIT", raising=False)
    own = LocalCluster({"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=4 -Dday7.test=1"},
                       log_path=tmp_path / "c.log")
    options = driver_options(own).split("=", 1)[1].split()
    assert options.index("-XX:TieredStopAtLevel=1") < options.index("-XX:TieredStopAtLevel=4")
    assert "-XX:ReservedCodeCacheSize=240m" in options and "-Dday7.test=1" in options
    monkeypatch.setenv("DAY7_JIT", "full")
    plain = driver_options(LocalCluster(log_path=tmp_path / "d.log"))
    assert "TieredStopAtLevel" not in plain and "ReservedCodeCacheSize" not in plain
