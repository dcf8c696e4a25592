"""A run's side of an all-purpose cluster's warm REPLs (repls.py): take one for a notebook task.

`WarmPool` stands where the run's `KernelPool` stands for other tasks: `take()` claims a
kernel the cluster's supervisor keeps warm, hands it to this task (the task's environment
variables and working folder, as a kernel the run started would have them) and returns
it as a `kernels.Kernel` papermill can drive. When the cluster keeps none, none is coming,
the REPLs' start-up environment differs from this run's, or a handover fails, it says so
once and uses a pool kernel of the run's own instead: never a hang, never a wrong kernel.
"""
from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from typing import Callable

from jupyter_client.manager import AsyncKernelManager

from course.jobs.local.compute import allpurpose, repls
from course.jobs.local.compute.kernels import Kernel, run_code

WAIT_SECONDS = 120   # how long a task waits for a REPL the supervisor is starting before starting its own
# Read when a kernel starts or the kit is imported in it: a REPL started with other values
# is not the kernel this run would start (setting them afterwards would be too late).
STARTUP_PREFIXES = ("PYTHON", "DAY7_", "SPARK_", "PYSPARK", "JAVA", "JUPYTER", "IPYTHON", "LD_")
STARTUP_NAMES = {"PATH", "HOME", "VIRTUAL_ENV", "TZ"}
HANDOVER = """
import os as _os, json as _json
for _k in _json.loads({drop!r}):
    _os.environ.pop(_k, None)
_os.environ.update(_json.loads({assign!r}))
_os.chdir({cwd!r})
del _os, _json
"""


def startup_part(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(STARTUP_PREFIXES) or k in STARTUP_NAMES}


class HandedOverManager(AsyncKernelManager):
    """jupyter_client's manager of a kernel another process started: it connects through the
    kernel's connection file and the kernel is alive while its process is (psutil, which
    also tells a reused pid apart). Killing and reaping stay with `Kernel` and the owner."""

    def __init__(self, process, connection_file: str, **kwargs):
        super().__init__(**kwargs)
        self.handed_process = process
        self.load_connection_file(connection_file)

    @property
    def has_kernel(self) -> bool:
        return allpurpose.alive(self.handed_process.pid) and self.handed_process.is_running()

    async def _async_is_alive(self) -> bool:
        return self.has_kernel

    is_alive = _async_is_alive


def _claim(key: str, differs: Callable[[dict], str | None]) -> tuple[dict | None, str | None]:
    """Take a published REPL (rename its file: one taker wins): (its record, None), or
    (None, why it does not suit this task) without taking it, or (None, None): none ready."""
    folder = repls.folder(key)
    for ready in sorted(folder.glob("ready-*.json")):
        try:
            record = json.loads(ready.read_text())
        except (OSError, ValueError):
            continue   # taken meanwhile
        why = differs(record)
        if why:
            return None, why
        n = ready.stem.split("-", 1)[1]
        try:
            os.rename(ready, folder / f"taken-{n}-by-{os.getpid()}.json")
        except FileNotFoundError:
            continue   # another task took it first
        return record, None
    return None, None


class WarmPool:
    """Kernels for the notebook tasks of one folder on a local all-purpose cluster.

    `prestart` takes and hands over a REPL ahead of the task, as the run's pool starts a
    kernel ahead of it; `take` returns that one, or takes one then and there."""

    def __init__(self, key: str, env: dict[str, str], cwd: str, fallback: Callable[[], object],
                 note: Callable[[str], None]):
        self.key, self.env, self.cwd = key, env, cwd
        self._make_fallback, self._note = fallback, note
        self._fallback = None      # the run's own KernelPool, once needed
        self._handed: queue.Queue[Kernel] = queue.Queue()   # taken and handed over ahead of a task
        self._preparing = 0
        self._closed = False
        self._lock = threading.Lock()
        self._waiting_since: float | None = None
        self._gave_up: str | None = None   # why a REPL taken ahead could not be had

    def _pool(self):
        if self._fallback is None:
            self._fallback = self._make_fallback()
        return self._fallback

    def _outlook(self) -> tuple[bool, str | None]:
        """(whether this cluster's published REPLs may be taken now, why none will come or None)."""
        status = repls.read_status(self.key)
        state = allpurpose.read_state(self.key) or {}
        if state.get("state") == "PENDING" and (state.get("supervisor_pid") is None or allpurpose.is_up(state)):
            return False, None   # still starting (a REPL is taken ahead while the cluster starts)
        if not status or status.get("supervisor_pid") != state.get("supervisor_pid") or not allpurpose.is_running(state):
            return False, "the cluster keeps no warm REPLs"   # (files in its folder are a former cluster's)
        if status.get("python") != sys.executable:
            return False, f"its REPLs run {status.get('python')}, this run {sys.executable}"
        if not status.get("wanted"):
            return False, "the cluster keeps no warm REPLs"
        if status.get("error") and not status.get("ready"):
            return False, f"its REPLs fail to start: {status['error']}"
        return True, None   # one is ready or the supervisor is starting one (it refills at once)

    def _claim_one(self, deadline: float, since: float) -> Kernel | str | None:
        """A REPL taken and handed over; or why none will come; or None: none by `deadline`."""
        while True:
            may, why = self._outlook()
            if may:
                record, why = _claim(self.key, self._differs)
                if record is not None:
                    kernel, why = self._hand_over(record)
                    if kernel is not None:
                        return kernel
            if why is None and time.monotonic() - since > WAIT_SECONDS:
                why = f"none was ready within {WAIT_SECONDS} s"
            if why is not None:
                return why
            if time.monotonic() >= deadline or self._closed:
                return None
            time.sleep(0.05)

    def take(self, timeout: float = 180) -> Kernel:
        try:
            return self._handed.get_nowait()
        except queue.Empty:
            pass
        if self._fallback is not None:
            return self._fallback.take(timeout)
        if self._preparing:   # one is being handed over for a task: this one
            return self._handed.get(timeout=timeout)
        got = self._gave_up   # no second wait of WAIT_SECONDS after the one ahead gave up
        if got is None:
            self._waiting_since = self._waiting_since or time.monotonic()
            got = self._claim_one(time.monotonic() + timeout, self._waiting_since)
        if isinstance(got, Kernel):
            self._waiting_since = None
            return got
        if got is None:
            raise queue.Empty
        self._note(f"all-purpose cluster {self.key}: no warm REPL for this task ({got}); starting a kernel")
        return self._pool().take(timeout)

    def _prepare(self) -> None:
        try:
            got = self._claim_one(time.monotonic() + WAIT_SECONDS, time.monotonic())
            if isinstance(got, Kernel):
                if self._closed:   # the run ended meanwhile
                    got.release()
                else:
                    self._handed.put(got)
            elif got is not None:
                self._gave_up = got   # the task's take() says why and uses the run's own pool
        finally:   # last: take() waits on the queue while this is counted
            with self._lock:
                self._preparing -= 1

    # The run's pool interface. The supervisor refills the REPLs; the fallback pool refills itself.
    def prestart(self, count: int | None = None, *, after_gate: bool = False) -> None:
        if self._fallback is not None:
            self._fallback.prestart(count, after_gate=after_gate)
        elif not after_gate:   # a later task's REPL is taken when the one before takes its own (top_up)
            self._start(count or 1)

    def top_up(self, wanted: int, *, after_gate: bool = False) -> None:
        if self._fallback is not None:
            self._fallback.top_up(wanted, after_gate=after_gate)
            return
        self._start(wanted - self._handed.qsize() - self._preparing)

    def _start(self, count: int) -> None:
        with self._lock:
            count = max(0, count) if not self._closed else 0
            self._preparing += count
        for _ in range(count):
            threading.Thread(target=self._prepare, daemon=True, name="repl-handover").start()

    def close(self) -> None:
        """Kill the REPLs taken for tasks that never ran (their supervisor replaces them)."""
        self._closed = True
        while True:
            try:
                self._handed.get_nowait().release()
            except queue.Empty:
                break
        if self._fallback is not None:
            self._fallback.close()

    def _differs(self, record: dict) -> str | None:
        """Why a REPL's start-up environment is not the one this run gives its kernels, or None."""
        import psutil

        try:
            theirs = startup_part(psutil.Process(record["pid"]).environ())
        except psutil.Error:
            return None   # dead: claimed, then reported by _hand_over
        ours = startup_part(self.env)
        names = sorted(k for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k))
        return f"its REPLs started with other values of {', '.join(names[:3])}" if names else None

    def _hand_over(self, record: dict) -> tuple[Kernel | None, str | None]:
        """The claimed REPL as this task's kernel, or (None, why not)."""
        import psutil

        try:
            process = psutil.Process(record["pid"])
            started_with = process.environ()
            manager = HandedOverManager(process, record["connection_file"], kernel_name=record["kernel_name"])
        except (psutil.Error, OSError, ValueError) as exc:
            return None, f"the REPL it took is gone: {type(exc).__name__}"
        kernel = Kernel(manager, foreign=process)
        # os.environ as if the kernel had started with this run's environment; what the
        # kernel set itself since (pyspark's Spark Connect switch) stays
        drop = [k for k in started_with if k not in self.env]
        changed = {k: v for k, v in self.env.items() if started_with.get(k) != v}
        error = run_code(manager, HANDOVER.format(drop=json.dumps(drop), assign=json.dumps(changed), cwd=self.cwd),
                         "handing the REPL over", timeout=30)
        if error:
            kernel.release()
            return None, error
        self._note(f"all-purpose cluster {self.key}: a notebook task takes warm REPL pid {process.pid}")
        return kernel, None

