"""Child processes that die with the runner, even when it is killed outright.

Linux's PR_SET_PDEATHSIG signals a child when the *thread* that forked it exits,
not the process. So every kernel and job-cluster JVM is forked from one
long-lived launcher thread, which lives exactly as long as the runner process.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

PR_SET_PDEATHSIG = 1

# One worker that never exits before the interpreter does.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="day7-launcher")


def die_with_parent(sig: int = signal.SIGKILL):
    """A preexec_fn: deliver `sig` to the child when the launcher (i.e. the runner) dies."""
    def preexec() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
        except OSError:
            pass  # not Linux: the runner's own exit handlers still stop children
    return preexec


def launch(fn, *args, **kwargs):
    """Run `fn` (which forks children with die_with_parent) on the launcher thread."""
    return _launcher.submit(fn, *args, **kwargs).result()


def lower_priority(preexec, by: int = 10):
    """`preexec`, then a lower CPU priority for the child (its work has slack; the job
    cluster's start does not)."""
    def run() -> None:
        preexec()
        try:
            os.nice(by)
        except OSError:
            pass
    return run


def lower_thread_priority(by: int = 10) -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads one by one)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), by)
    except (OSError, AttributeError):
        pass


def process_group_preexec(sig: int = signal.SIGTERM):
    """die_with_parent plus a process group of its own, so Ctrl-C reaches only the runner."""
    inner = die_with_parent(sig)

    def preexec() -> None:
        inner()
        os.setpgrp()
    return preexec
