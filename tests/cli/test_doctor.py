"""`runner.py doctor` and the missing-Java message."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fake_databricks import clean_env, fake  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]


def run(args, env):
    return subprocess.run([sys.executable, str(REPO / "runner.py"), *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=REPO)


def env_without_java(tmp_path) -> dict:
    """PATH with python's folder but no java, and no JAVA_HOME."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k not in {"JAVA_HOME", "SPARK_REMOTE"}}
    env["PATH"] = f"{bin_dir}:/usr/bin/nonexistent"
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        env.pop(name, None)
    env["DATABRICKS_CONFIG_FILE"] = str(tmp_path / "no.cfg")
    return env


def test_doctor_fails_without_java_with_install_advice(tmp_path):
    out = run(["doctor"], env_without_java(tmp_path))
    assert out.returncode == 1
    lines = {line.split()[1]: line for line in out.stdout.splitlines() if line.strip()}
    assert lines["java"].startswith("fail")
    assert "apt-get install openjdk-17" in lines["java"] and "JAVA_HOME" in lines["java"]
    assert lines["spark"].startswith("warn") and "no Java" in lines["spark"]
    assert lines["python"].startswith("ok")
    assert lines["databricks"].startswith("warn")
    assert "Traceback" not in out.stdout + out.stderr


def test_doctor_healthy_machine_without_spark_check(tmp_path):
    env = dict(os.environ, DATABRICKS_CONFIG_FILE=str(tmp_path / "no.cfg"))
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN"):
        env.pop(name, None)
    out = run(["doctor", "--no-spark"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    verdicts = {line.split()[1]: line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert verdicts["python"] == verdicts["java"] == verdicts["jupyter"] == "ok"
    assert verdicts["delta"] in {"ok", "warn"}


def test_doctor_never_prints_the_token(fake):
    # A workspace (the fake, on 127.0.0.1) that refuses the token: the error path that quotes the server.
    env = dict(os.environ, DATABRICKS_HOST=fake.host, DATABRICKS_TOKEN="dapi-secret-123456")
    out = run(["doctor", "--no-spark"], env)
    line = next(line for line in out.stdout.splitlines() if line.split()[1:2] == ["databricks"])
    assert line.startswith("warn") and "did not accept the credentials" in line and "401" in line, line
    assert "dapi-secret-123456" not in out.stdout + out.stderr


def test_run_without_java_is_one_paragraph_exit_2(tmp_path):
    out = run(["run"], env_without_java(tmp_path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Java 17 or newer" in out.stderr and "Traceback" not in out.stderr
