"""The job cluster's class-data sharing archive (course/jobs/classcache.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course.jobs.local.compute import classcache
from course.jobs.local.compute.classcache import ClassCache
from runner_fixtures import alive


@pytest.fixture
def fake_install(tmp_path):
    """A `java` file and a Spark home with two jars: what the archive's key is made of."""
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    spark_home = tmp_path / "pyspark"
    (spark_home / "jars").mkdir(parents=True)
    for name in ("spark-core.jar", "spark-connect.jar"):
        (spark_home / "jars" / name).write_bytes(b"x" * 10)
    return str(java), spark_home


def test_cache_root_follows_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("DAY7_CLASS_CACHE", str(tmp_path / "cds"))
    assert classcache.cache_root() == tmp_path / "cds"
    for off in ("off", "0", "no", "OFF"):
        monkeypatch.setenv("DAY7_CLASS_CACHE", off)
        assert classcache.cache_root() is None
        assert classcache.for_jvm("java", tmp_path) is None
    monkeypatch.delenv("DAY7_CLASS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert classcache.cache_root() == tmp_path / "xdg" / "day7"


def test_the_archive_name_changes_with_java_or_spark(tmp_path, fake_install):
    java, spark_home = fake_install
    first = ClassCache(tmp_path / "cache", java, spark_home).archive
    assert ClassCache(tmp_path / "cache", java, spark_home).archive == first
    (spark_home / "jars" / "delta.jar").write_bytes(b"y")
    after_jar = ClassCache(tmp_path / "cache", java, spark_home).archive
    assert after_jar != first
    time.sleep(0.01)
    Path(java).write_text("#!/bin/sh\n# upgraded\n")
    os.utime(java, None)
    assert ClassCache(tmp_path / "cache", java, spark_home).archive not in (first, after_jar)
    other_venv = tmp_path / "other-venv" / "pyspark"
    other_venv.parent.mkdir()
    spark_home.rename(other_venv)
    assert ClassCache(tmp_path / "cache", java, other_venv).archive.name.split("-")[-1] not in {
        p.name.split("-")[-1] for p in (first, after_jar)}


def test_one_jvm_builds_the_archive_others_run_without_then_all_use_it(tmp_path, fake_install):
    java, spark_home = fake_install
    cache = tmp_path / "cache"
    builder, other = ClassCache(cache, java, spark_home), ClassCache(cache, java, spark_home)
    options = builder.java_options()
    assert builder.building and options[0].startswith("-XX:ArchiveClassesAtExit=")
    assert other.java_options() == [] and not other.building   # someone else is building it
    assert builder.conf_dir.is_dir() and not any(builder.conf_dir.iterdir())
    Path(options[0].split("=", 1)[1]).write_bytes(b"archive")  # what the JVM writes at exit
    builder.finished(143)                                       # SIGTERM's clean exit
    assert builder.archive.read_bytes() == b"archive"
    assert sorted(p.name for p in cache.iterdir()) == ["empty-conf", builder.archive.name]
    assert ClassCache(cache, java, spark_home).java_options() == [f"-XX:SharedArchiveFile={builder.archive}"]


def test_a_jvm_killed_while_building_leaves_no_archive_and_frees_the_lock(tmp_path, fake_install):
    java, spark_home = fake_install
    builder = ClassCache(tmp_path, java, spark_home)
    partial = Path(builder.java_options()[0].split("=", 1)[1])
    partial.write_bytes(b"half")
    builder.finished(-9)
    assert not builder.archive.exists() and not partial.exists()
    assert ClassCache(tmp_path, java, spark_home).java_options()[0].startswith("-XX:ArchiveClassesAtExit=")


def test_building_prunes_archives_unused_for_two_weeks(tmp_path, fake_install):
    java, spark_home = fake_install
    cache = tmp_path / "cache"
    cache.mkdir()
    gone, recent = cache / "spark-connect-0000000000000000.jsa", cache / "spark-connect-1111111111111111.jsa"
    for path in (gone, recent):
        path.write_bytes(b"old install")
    old = time.time() - (classcache.UNUSED_DAYS + 1) * 86400
    os.utime(gone, (old, old))
    ClassCache(cache, java, spark_home).java_options()
    assert not gone.exists() and recent.exists()


def test_a_stale_build_lock_is_taken_over(tmp_path, fake_install):
    java, spark_home = fake_install
    first = ClassCache(tmp_path, java, spark_home)
    first.java_options()  # holds the lock, then "dies" without finishing
    lock = first.archive.with_suffix(".building")
    old = time.time() - classcache.BUILD_LOCK_STALE_S - 5
    os.utime(lock, (old, old))
    assert ClassCache(tmp_path, java, spark_home).java_options()[0].startswith("-XX:ArchiveClassesAtExit=")


def test_runner_processes_skip_the_slow_iri_checker():
    """jsonschema's rfc3987_syntax import (1–2 s) and isoduration's (arrow) stay out of the runner's process."""
    code = ("import sys, course.jobs.local.executors.notebook, papermill, nbformat.validator\n"
            "print(sys.modules.get('rfc3987_syntax') is None, sys.modules.get('isoduration') is None, "
            "'arrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True True False"


@pytest.mark.slow
def test_a_real_cluster_builds_the_archive_once_and_the_next_one_maps_it_and_dies_with_its_parent(
        tmp_path, monkeypatch, day7_home):
    """The second cluster is also test_cluster's 'no JVM outlives a SIGKILLed runner' one:
    a cluster in a child process whose parent is killed outright (one JVM start for both)."""
    from course.jobs.local.compute.cluster import LocalCluster

    monkeypatch.setenv("DAY7_CLASS_CACHE", str(tmp_path / "cds"))
    first = LocalCluster({})
    first.start()
    scratch = Path(first.local_dir)
    assert first.class_cache.building and scratch.is_dir()
    first.stop()
    archives = list((tmp_path / "cds").glob("spark-connect-*.jsa"))
    assert len(archives) == 1 and archives[0].stat().st_size > 10_000_000, archives
    assert not scratch.exists()

    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import time
        from course.jobs.local.compute.cluster import LocalCluster
        c = LocalCluster()
        c.start()
        print(c.process.pid, c.log_path, c.class_cache.building, flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline().split()
        assert len(line) == 3 and line[0].isdigit(), "the cluster did not start"
        jvm, log, building = int(line[0]), Path(line[1]), line[2]
        args = Path(f"/proc/{jvm}/cmdline").read_bytes().split(b"\0")
        assert f"-XX:SharedArchiveFile={archives[0]}".encode() in b" ".join(args)
        assert building == "False"
        assert alive(jvm)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    # No JVM may outlive the runner, even when the runner is killed outright.
    assert wait_gone(jvm, 30), "the JVM outlived its SIGKILLed parent"
    assert "[cds" not in log.read_text()  # the JVM warns there when it cannot map the archive


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
