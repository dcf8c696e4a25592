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
from dataclasses import dataclass, field

from course.platform import lifeline

# Run in each new kernel before it is handed out, in two steps: the imports (the slow
# part of a first cell; importing course.runtime in a kernel also registers Databricks'
# magics and predefined names, see course/runtime/magics.py) at once, while the job cluster may still be starting; then,
# once it answers, opening the session (which also registers the tables on disk).
PRELOAD = """
from course.runtime import dbutils, spark, display, displayHTML
import os as _os
if _os.environ.get("SPARK_REMOTE"):
    import pyspark.sql.connect.session, pyspark.sql.functions
del _os
"""
CONNECT = """
import os as _os
if _os.environ.get("SPARK_REMOTE"):
    from course.runtime.spark import get_spark as _get_spark
    _get_spark()
    del _get_spark
del _os
"""
WARMUP = (PRELOAD, CONNECT)


@dataclass
class Kernel:
    manager: object            # jupyter_client AsyncKernelManager, started
    error: str | None = None   # warm-up failure, reported when the task runs
    clients: list = field(default_factory=list)  # every client made from the manager (papermill's too)
    # psutil.Process of a kernel another process started and handed over (an all-purpose
    # cluster's REPL, handover.py): killed through it, reaped by its parent, not by us
    foreign: object = None

    def __post_init__(self) -> None:
        # papermill (nbclient) starts a client on a manager it did not create and leaves its
        # channels running; remember every client so release() can stop them.
        make = self.manager.client

        def client(**kwargs):
            made = make(**kwargs)
            self.clients.append(made)
            return made
        self.manager.client = client

    @property
    def process(self):
        """The kernel's subprocess.Popen when this process started it."""
        return getattr(self.manager.provisioner, "process", None) if self.manager.provisioner else None

    @property
    def pid(self) -> int | None:
        proc = self.foreign or self.process
        return proc.pid if proc else None

    def kill(self) -> None:
        """Kill the kernel process at once (timeouts, cancel, end of task); never a process
        that merely reuses its pid (a Popen already reaped, a psutil identity check)."""
        if self.foreign is not None:
            try:
                self.foreign.kill()
            except Exception:
                pass  # gone already
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.manager.cleanup_connection_file()
        except Exception:
            pass  # already gone

    def release(self) -> None:
        """kill(), then free what talked to the kernel: its clients' channels and zmq
        contexts (three threads each), the manager's control socket and context, and the
        process entry (no zombie). Only from the thread that used the kernel, once done:
        zmq sockets must not be closed under another thread. A client left running is
        also a hazard: its __del__ logs from wherever the garbage collector runs, e.g.
        inside an import, which deadlocks against a kernel launch (fork takes the logging
        and import locks)."""
        self.kill()
        for client in self.clients:
            try:
                client.stop_channels()  # also destroys the context it created
            except Exception:
                pass
        self.clients.clear()
        manager = self.manager
        try:
            manager._close_control_socket()
            if getattr(manager, "_created_context", False) and not manager.context.closed:
                manager.context.destroy(linger=0)
        except Exception:
            pass
        proc = self.process
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except Exception:
                pass


async def _execute(client, code: str, what: str = "kernel warm-up") -> str | None:
    """Run warm-up code in a kernel; the error in one line, or None."""
    reply = await client.execute_interactive(code, timeout=120, store_history=False, output_hook=lambda msg: None)
    content = reply["content"]
    if content["status"] != "ok":
        return f"{what} failed: {content.get('ename')}: {content.get('evalue')}"
    return None


def _run(coro):
    return asyncio.run(coro)


def new_kernel(ipc_path: str, kernel_name: str = "python3", kernel_dirs: list[str] | None = None) -> Kernel:
    """A kernel not started yet: its manager, on IPC sockets under `ipc_path` (local only,
    and no "running over TCP without encryption" warning)."""
    from jupyter_client.manager import AsyncKernelManager

    specs = {}
    if kernel_dirs:
        from jupyter_client.kernelspec import KernelSpecManager
        specs["kernel_spec_manager"] = KernelSpecManager(kernel_dirs=kernel_dirs)
    return Kernel(AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=ipc_path, **specs))


def start_kernel(kernel: Kernel, env: dict[str, str], cwd: str | None) -> None:
    """Start its process: a lifeline child of this process, at a lower CPU priority.
    jupyter_client starts kernels in a session of their own (away from Ctrl-C); the
    launcher thread makes them die with this process."""
    lifeline.launch(_run, kernel.manager.start_kernel(
        env=env, cwd=cwd, preexec_fn=lifeline.lower_priority(lifeline.die_with_parent())))


def run_code(manager, code: str, what: str, timeout: float = 60) -> str | None:
    """Run `code` in a started kernel through a client of its own; the error in one line, or None."""
    async def go():
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=timeout)
            return await _execute(client, code, what)
        finally:
            client.stop_channels()
    try:
        return _run(go())
    except Exception as exc:  # the kernel died or does not answer
        return f"{what} failed: {exc}"


class KernelPool:
    """`take()` a warm kernel; the pool refills itself in the background."""

    def __init__(self, env: dict[str, str], *, size: int = 1, kernel_name: str = "python3",
                 wait_before_warmup: threading.Event | None = None, warmup: tuple[str, str] = WARMUP,
                 cwd: str | None = None, kernel_dirs: list[str] | None = None):
        self.env = env
        self.kernel_dirs = kernel_dirs  # where `kernel_name`'s spec is (a task environment's), else Jupyter's own
        self.cwd = cwd  # the kernels' working directory (a notebook runs in its own folder)
        self.size = max(1, size)
        self.kernel_name = kernel_name
        self.ready_gate = wait_before_warmup
        self.warmup = warmup  # (code run at once, code run after the gate opens)
        self._ready: queue.Queue[Kernel] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._pending = 0
        self._takers = 0          # callers blocked in take()
        self._all: list[Kernel] = []
        self._count = 0
        self.ipc_dir = tempfile.mkdtemp(prefix="day7-kernels-")

    def _seq(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def prestart(self, count: int | None = None, *, after_gate: bool = False) -> None:
        """Start `count` kernels in the background (default: the pool size).

        `after_gate`: launch them only once the gate is open, so that they do not
        compete for the CPU with the job cluster's start."""
        self._start(lambda: count if count is not None else self.size, after_gate)

    def top_up(self, wanted: int, *, after_gate: bool = False) -> None:
        """Start kernels until `wanted` are ready or starting (none when enough are)."""
        self._start(lambda: max(0, wanted - (self._ready.qsize() + self._pending)), after_gate)

    def _start(self, how_many, after_gate: bool) -> None:
        with self._lock:  # counted and reserved at once, so concurrent callers never overshoot
            if self._closed:
                return
            count = how_many()
            self._pending += count
        self._spawn(count, after_gate)

    def _spawn(self, count: int, after_gate: bool = False) -> None:
        # `count` was already added to _pending, under the lock, by the caller.
        for _ in range(count):
            threading.Thread(target=self._start_one, args=(after_gate,), daemon=True, name="kernel-start").start()

    def _start_one(self, after_gate: bool = False) -> None:
        if after_gate and self.ready_gate is not None:
            self.ready_gate.wait()
        if self._closed:  # the run ended before this kernel was launched
            with self._lock:
                self._pending -= 1
            return

        kernel = new_kernel(os.path.join(self.ipc_dir, f"kernel-{os.getpid()}-{id(self)}-{self._seq()}"),
                            self.kernel_name, self.kernel_dirs)
        manager = kernel.manager
        try:
            start_kernel(kernel, self.env, self.cwd)
            with self._lock:
                self._all.append(kernel)
                closed = self._closed
            if closed:  # close() ran while this kernel was starting: it must not outlive the run
                kernel.error = "the run ended while this kernel was starting"
            else:
                kernel.error = _run(self._warm(manager))
        except Exception as exc:  # a kernel that cannot start: the task will say why
            kernel.error = f"kernel failed to start: {exc}"
        finally:
            with self._lock:
                self._pending -= 1
            if self._closed:
                kernel.release()
            else:
                self._ready.put(kernel)

    async def _warm(self, manager) -> str | None:
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            preload, connect = self.warmup
            error = await _execute(client, preload)
            if error is None and self.ready_gate is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.ready_gate.wait)
            return error or await _execute(client, connect)
        finally:
            client.stop_channels()

    def take(self, timeout: float = 180) -> Kernel:
        """A started kernel (blocks until one is ready).

        Starts one more kernel when every kernel that is ready or starting is
        already promised to another caller waiting here, so concurrent callers
        never wait on the same kernel (one would wait for ever).
        """
        with self._lock:
            self._takers += 1
            short = 0 if self._closed else self._takers - (self._ready.qsize() + self._pending)
            short = max(0, short)
            self._pending += short
        self._spawn(short)
        try:
            return self._ready.get(timeout=timeout)
        finally:
            with self._lock:
                self._takers -= 1

    def close(self) -> None:
        """Kill every kernel the pool started (used or not); release the unused ones."""
        with self._lock:
            self._closed = True
            kernels = list(self._all)
        unused = []
        while True:
            try:
                unused.append(self._ready.get_nowait())
            except queue.Empty:
                break
        for kernel in kernels:
            kernel.kill()
        for kernel in unused:
            kernel.release()  # nobody else holds these
        shutil.rmtree(self.ipc_dir, ignore_errors=True)
