"""Kernels started ahead of time, so a task never waits for one to boot.

A notebook task gets a fresh kernel for every attempt, as on Databricks. The pool
keeps `size` kernels started and warmed (kit imported, Spark Connect session
open) while other tasks run; a task takes one, uses it once, and it is killed.
Every kernel dies with the runner (PR_SET_PDEATHSIG) even if the runner is
killed outright.
"""
from __future__ import annotations

import asyncio
import os
import queue
import shutil
import tempfile
import signal
import threading
from dataclasses import dataclass

from course.jobs import lifeline

# Run in each new kernel before it is handed out: import the stand-in, and open
# the job cluster's session when there is one (the slow parts of a first cell).
WARMUP = """
import os as _os
from course.runtime import dbutils, spark, display
if _os.environ.get("SPARK_REMOTE"):
    from course.runtime.spark import get_spark as _get_spark
    _get_spark()
del _os
"""


@dataclass
class Kernel:
    manager: object            # jupyter_client AsyncKernelManager, started
    error: str | None = None   # warm-up failure, reported when the task runs

    @property
    def pid(self) -> int | None:
        proc = getattr(self.manager.provisioner, "process", None) if self.manager.provisioner else None
        return proc.pid if proc else None

    def kill(self) -> None:
        """Kill the kernel process at once (timeouts, cancel, end of task)."""
        pid = self.pid
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.manager.cleanup_connection_file()
        except Exception:
            pass  # already gone


def _run(coro):
    return asyncio.run(coro)


class KernelPool:
    """`take()` a warm kernel; the pool refills itself in the background."""

    def __init__(self, env: dict[str, str], *, size: int = 1, kernel_name: str = "python3",
                 wait_before_warmup: threading.Event | None = None, warmup: str = WARMUP):
        self.env = env
        self.size = max(1, size)
        self.kernel_name = kernel_name
        self.ready_gate = wait_before_warmup
        self.warmup = warmup
        self._ready: queue.Queue[Kernel] = queue.Queue()
        self._live: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._pending = 0
        self._all: list[Kernel] = []
        self._count = 0
        self.ipc_dir = tempfile.mkdtemp(prefix="day7-kernels-")

    def _seq(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def prestart(self, count: int | None = None) -> None:
        """Start kernels in the background up to `count` (default: the pool size)."""
        for _ in range(count if count is not None else self.size):
            with self._lock:
                if self._closed:
                    return
                self._pending += 1
            threading.Thread(target=self._start_one, daemon=True, name="kernel-start").start()

    def _start_one(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        # IPC sockets: local only, and no "running over TCP without encryption" warning.
        manager = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc",
                                     ip=os.path.join(self.ipc_dir, f"kernel-{os.getpid()}-{id(self)}-{self._seq()}"))
        kernel = Kernel(manager)
        try:
            # jupyter_client starts kernels in a session of their own (away from Ctrl-C);
            # the launcher thread makes them die with the runner.
            lifeline.launch(_run, manager.start_kernel(env=self.env, preexec_fn=lifeline.die_with_parent()))
            with self._lock:
                self._all.append(kernel)
            if self.ready_gate is not None:
                self.ready_gate.wait()
            kernel.error = _run(self._warm(manager))
        except Exception as exc:  # a kernel that cannot start: the task will say why
            kernel.error = f"kernel failed to start: {exc}"
        finally:
            with self._lock:
                self._pending -= 1
            if self._closed:
                kernel.kill()
            else:
                self._ready.put(kernel)

    async def _warm(self, manager) -> str | None:
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            reply = await client.execute_interactive(self.warmup, timeout=120, store_history=False,
                                                     output_hook=lambda msg: None)
            if reply["content"]["status"] != "ok":
                content = reply["content"]
                return f"kernel warm-up failed: {content.get('ename')}: {content.get('evalue')}"
            return None
        finally:
            client.stop_channels()

    def take(self, timeout: float = 180) -> Kernel:
        """A started kernel (blocks until one is ready); starts a replacement."""
        with self._lock:
            need = self._ready.qsize() + self._pending == 0
        if need:
            self.prestart(1)
        kernel = self._ready.get(timeout=timeout)
        return kernel

    def close(self) -> None:
        """Kill every kernel the pool started (used or not)."""
        with self._lock:
            self._closed = True
            kernels = list(self._all)
        for kernel in kernels:
            kernel.kill()
        shutil.rmtree(self.ipc_dir, ignore_errors=True)
