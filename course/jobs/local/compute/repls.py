"""An all-purpose cluster's REPLs: kernels its supervisor keeps warm for the runs' notebook tasks.

On Databricks a notebook on an all-purpose cluster runs in a REPL on the cluster's driver,
and the driver keeps REPLs ready. Here the supervisor keeps `count` kernels started and
warmed (kit imported, Spark Connect session to this cluster open), each a lifeline child
of the supervisor, so they die with it. A warm kernel is published in `<key>.repls/` as
`ready-N.json` (its pid and connection file). A run takes one by renaming that file to
`taken-N-by-<run pid>.json` (a rename is atomic: one taker wins), drives it through its
connection file (handover.py) and kills it when its task ends, as it does its own
kernels: a kernel serves one task. The supervisor then reaps it and starts a replacement;
it also kills a taken kernel whose run died, and replaces a ready one that died or grew old.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from course.jobs.local.compute import allpurpose
from course.platform import paths

COUNT_VARIABLE = "DAY7_CLUSTER_REPLS"   # how many warm kernels an all-purpose cluster keeps (0: none)
DEFAULT_COUNT = 2
MAX_AGE_SECONDS = 30 * 60   # a ready kernel older than this is replaced (Spark Connect drops idle sessions)
CHECK_SECONDS = 0.2
BUSY_SECONDS = 6            # a heartbeat younger than this: a run is using the cluster (handles.py beats every 5 s)


def wanted_count() -> int:
    try:
        return max(0, int(os.environ.get(COUNT_VARIABLE, DEFAULT_COUNT)))
    except ValueError:
        return DEFAULT_COUNT


def folder(key: str) -> Path:
    return paths.clusters_dir() / f"{allpurpose.safe(key)}.repls"


def read_status(key: str) -> dict | None:
    try:
        return json.loads((folder(key) / "status.json").read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class ReplKeeper:
    """Run by the supervisor: keeps `count` warm kernels on the cluster at `url` published."""

    def __init__(self, key: str, url: str, count: int, log=print):
        from course.jobs.local.compute.env import child_env

        self.key, self.count, self.log = key, count, log
        self.env = child_env(url)            # what a run's own pool would give its kernels
        self.dir = folder(key)
        shutil.rmtree(self.dir, ignore_errors=True)   # a previous cluster's files
        self.dir.mkdir(parents=True)
        self.ipc_dir = tempfile.mkdtemp(prefix="day7-repls-")  # short: socket paths are limited to ~100 bytes
        self.ready: dict[int, object] = {}    # n -> Kernel, published
        self.taken: dict[int, tuple] = {}     # n -> (Kernel, run pid), in a run's hands
        self.born: dict[int, float] = {}      # n -> when its start began
        self.starting = 0
        self.failures = 0                     # warm-ups failed in a row (back off, say why)
        self.error: str | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="repl-keeper")
        self._status()

    def start(self) -> None:
        with self._lock:
            self._refill(everything=True)   # at once: a run may look for them as soon as the cluster runs
        self._thread.start()

    def _status(self) -> None:
        _write_json(self.dir / "status.json", {
            "supervisor_pid": os.getpid(), "python": sys.executable, "wanted": self.count,
            "ready": len(self.ready), "starting": self.starting, "failures": self.failures, "error": self.error})

    # ------------------------------------------------------------ the loop

    def _loop(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            with self._lock:
                try:
                    self._check_ready()
                    self._check_taken()
                    self._refill()
                except Exception as exc:  # e.g. the state folder went away: say so, keep going
                    self.log(f"warm REPLs: {type(exc).__name__}: {exc}")

    def _check_ready(self) -> None:
        for n, kernel in list(self.ready.items()):
            path = self.dir / f"ready-{n}.json"
            if not path.exists():   # a run took it
                owners = list(self.dir.glob(f"taken-{n}-by-*.json"))
                owner = int(owners[0].stem.rsplit("-", 1)[1]) if owners else None
                self.taken[n] = (kernel, owner)
                del self.ready[n]
                self._status()
            elif kernel.process.poll() is not None or time.time() - self.born[n] > MAX_AGE_SECONDS:
                if self._unpublish(n):
                    why = "died" if kernel.process.poll() is not None else "is old"
                    self.log(f"warm kernel {kernel.pid} {why}: replacing it")
                    kernel.release()
                    del self.ready[n]
                    self._status()

    def _unpublish(self, n: int) -> bool:
        """Take a ready kernel back; False when a run took it first."""
        try:
            os.remove(self.dir / f"ready-{n}.json")
            return True
        except FileNotFoundError:
            return False

    def _check_taken(self) -> None:
        for n, (kernel, owner) in list(self.taken.items()):
            if kernel.process.poll() is None:
                if owner and not allpurpose.alive(owner):  # its run died without killing it
                    kernel.kill()
                continue
            kernel.release()   # the run killed it when its task ended: reap it
            for path in self.dir.glob(f"taken-{n}-by-*.json"):
                path.unlink(missing_ok=True)
            del self.taken[n]

    def _run_active(self) -> bool:
        """A run is using the cluster now (it touches the heartbeat every few seconds)."""
        try:
            return time.time() - allpurpose.heartbeat_file(self.key).stat().st_mtime < BUSY_SECONDS
        except OSError:
            return False

    def _refill(self, everything: bool = False) -> None:
        short = self.count - len(self.ready) - self.starting
        if short <= 0 or self._stop.is_set():
            return
        if self.failures and time.time() < self._retry_at:
            return
        if not everything and self._run_active():
            # While a run works, one kernel ready or coming is enough: starting more would
            # compete with its tasks for the CPU. The rest once the cluster is idle.
            short = 1 if not self.ready and not self.starting else 0
            if not short:
                return
        self.starting += short
        self._status()
        for _ in range(short):
            self._seq += 1
            threading.Thread(target=self._start_one, args=(self._seq,), daemon=True, name="repl-start").start()

    _retry_at = 0.0

    def _start_one(self, n: int) -> None:
        from course.jobs.local.compute import kernels

        kernel = kernels.new_kernel(os.path.join(self.ipc_dir, f"k{n}"))
        self.born[n] = time.time()
        try:
            kernels.start_kernel(kernel, self.env, self.ipc_dir)
            error = None if self._stop.is_set() else kernels.run_code(
                kernel.manager, "\n".join(kernels.WARMUP), "kernel warm-up", timeout=120)
        except Exception as exc:
            error = f"kernel failed to start: {exc}"
        with self._lock:
            self.starting -= 1
            if self._stop.is_set() or error:
                kernel.release()
                if error and not self._stop.is_set():
                    self.failures += 1
                    self.error = error
                    self._retry_at = time.time() + min(60, 2 ** self.failures)
                    self.log(f"warm kernel failed ({error}); retrying in {min(60, 2 ** self.failures)} s")
            else:
                self.failures, self.error = 0, None
                self.ready[n] = kernel
                _write_json(self.dir / f"ready-{n}.json", {
                    "pid": kernel.pid, "connection_file": kernel.manager.connection_file,
                    "kernel_name": kernel.manager.kernel_name, "cwd": self.ipc_dir})
            self._status()

    # ------------------------------------------------------------ the end

    def stop(self) -> None:
        """Kill every kernel (ready, taken or starting) and remove the folder."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        with self._lock:
            kernels = [*self.ready.values(), *(k for k, _ in self.taken.values())]
            self.ready.clear()
            self.taken.clear()
        for kernel in kernels:
            kernel.release()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.ipc_dir, ignore_errors=True)
