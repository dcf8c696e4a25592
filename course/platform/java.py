"""Finding Java before Spark does, so a missing JDK is one readable paragraph."""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

MIN_JAVA = 17

INSTALL_HINT = (
    "Spark needs Java {min} or newer and none was found{where}. Install a JDK and "
    "run again: on Debian/Ubuntu `sudo apt-get install openjdk-17-jre-headless`, on macOS "
    "`brew install openjdk@17`, with conda `conda env create -f environment.yml` (it "
    "includes openjdk). If Java is installed somewhere else, set JAVA_HOME to its folder."
)


class JavaMissing(RuntimeError):
    """No usable Java: the message says how to install one."""


def java_executable() -> str | None:
    """JAVA_HOME/bin/java if set, else `java` on PATH (what Spark's launcher uses)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def java_version(java: str) -> int | None:
    """Major version of a java binary (17, 21, …), None when it does not run."""
    try:
        stamp = os.stat(java).st_mtime_ns
    except OSError:
        return None
    return _java_version(java, stamp)


@functools.lru_cache(maxsize=8)
def _java_version(java: str, stamp: int) -> int | None:
    # `java -version` starts a JVM (~0.1 s): once per binary and process is enough.
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major  # "1.8" → 8


def require_java() -> str:
    """Path of a Java >= 17, or JavaMissing with install instructions."""
    java = java_executable()
    if java is None:
        where = " in JAVA_HOME" if os.environ.get("JAVA_HOME") else " on PATH"
        raise JavaMissing(INSTALL_HINT.format(min=MIN_JAVA, where=where))
    major = java_version(java)
    if major is None or major < MIN_JAVA:
        found = f" (found {java}, version {major or 'unknown'})"
        raise JavaMissing(INSTALL_HINT.format(min=MIN_JAVA, where=found).replace(
            "and none was found", "and no suitable one was found"))
    return java
