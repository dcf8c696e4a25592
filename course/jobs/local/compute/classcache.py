"""A class-data sharing archive (Java AppCDS) for the job cluster's JVM.

A Spark Connect server loads and verifies some 15,000 classes before it answers,
and more on its first queries; that is most of its start-up time. The first
cluster on a machine records the classes it loaded into an archive when it
stops (`-XX:ArchiveClassesAtExit`, a few seconds once); every later cluster maps
the archive instead (`-XX:SharedArchiveFile`) and is ready sooner.

The archive is a cache: one per Java + pyspark install, kept in
`$DAY7_CLASS_CACHE` (default `~/.cache/day7`, outside DAY7_HOME so every state
folder and test shares it), rebuilt when either changes, safe to delete, and
`DAY7_CLASS_CACHE=off` switches it off. A JVM given an archive that does not
match simply runs without it. CDS refuses a class path holding a non-empty
folder, so such a JVM takes its Spark configuration folder from an empty one and
its log4j settings from a system property instead.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

BUILD_LOCK_STALE_S = 600  # a build lock older than this was left by a killed process
UNUSED_DAYS = 14          # an archive no JVM mapped for this long belongs to a gone install


def cache_root() -> Path | None:
    """The cache folder, or None when switched off."""
    setting = os.environ.get("DAY7_CLASS_CACHE", "")
    if setting.lower() in {"off", "0", "false", "no"}:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "day7"


def _install_key(java: str, spark_home: Path) -> str:
    """Changes whenever the JVM, Spark's jars or their folder do: an archive records the
    class path it was built with, and a JVM with another one cannot map it."""
    digest = hashlib.sha1()
    java_real = Path(java).resolve()
    digest.update(f"{java_real}:{java_real.stat().st_mtime_ns}:{spark_home.resolve()}".encode())
    for jar in sorted((spark_home / "jars").glob("*.jar")):
        digest.update(f"{jar.name}:{jar.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class ClassCache:
    """What one JVM start does with the archive: use it, build it, or neither."""

    def __init__(self, root: Path, java: str, spark_home: Path, kind: str = "spark-connect"):
        self.root = root
        self.archive = root / f"{kind}-{_install_key(java, spark_home)}.jsa"
        self.conf_dir = root / "empty-conf"   # SPARK_CONF_DIR for such JVMs: must stay empty
        self._lock = self.archive.with_suffix(".building")
        self._partial = self.archive.with_suffix(f".{os.getpid()}.partial")
        self.building = False

    def java_options(self) -> list[str]:
        """Options for the JVM about to start (builds the archive when nobody else is)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(exist_ok=True)
        if self.archive.exists():
            try:
                os.utime(self.archive)  # "last used", for pruning
            except OSError:
                pass
            return [f"-XX:SharedArchiveFile={self.archive}"]
        self.building = self._take_lock()
        if self.building:
            self._prune()
        return [f"-XX:ArchiveClassesAtExit={self._partial}"] if self.building else []

    def finished(self, exit_code: int | None) -> None:
        """After the JVM exited: keep a complete archive, drop a partial one."""
        if not self.building:
            return
        try:
            # SIGTERM's clean shutdown exits 143; the archive is written before that.
            if exit_code in (0, 143) and self._partial.exists() and self._partial.stat().st_size > 0:
                os.replace(self._partial, self.archive)
        finally:
            self._partial.unlink(missing_ok=True)
            self._lock.unlink(missing_ok=True)
            self.building = False

    def _prune(self) -> None:
        """Drop archives of other installs (old venvs, old Java) unused for UNUSED_DAYS."""
        cutoff = time.time() - UNUSED_DAYS * 86400
        for other in self.root.glob("*.jsa"):
            try:
                if other != self.archive and other.stat().st_mtime < cutoff:
                    other.unlink()
            except OSError:
                pass

    def _take_lock(self) -> bool:
        try:
            if time.time() - self._lock.stat().st_mtime > BUILD_LOCK_STALE_S:
                self._lock.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        try:
            fd = os.open(self._lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False  # another JVM is building it; this one runs without
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True


def for_jvm(java: str, spark_home: Path, kind: str = "spark-connect") -> ClassCache | None:
    """The cache for a JVM about to start, or None when switched off or unusable."""
    root = cache_root()
    if root is None:
        return None
    try:
        root.mkdir(parents=True, exist_ok=True)
        return ClassCache(root, java, spark_home, kind)
    except OSError:
        return None  # an unwritable cache folder costs speed, never a run
