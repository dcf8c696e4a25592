"""Which process owns a run and whether it still runs: pid, start time and host, read with psutil.

A run records its owner (`owner_pid`, `owner_identity`, `owner_host`) so that any process
can tell a run whose runner died (an orphan, closed as INTERNAL_ERROR) from one still
running, even after the pid was handed to another process.
"""
from __future__ import annotations

import os
import socket

import psutil

# /proc counts a process's start in clock ticks since boot; the identity keeps that unit.
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if psutil.LINUX else 0


def process_identity(pid: int) -> str | None:
    """A token that changes when `pid` is reused: "<boot time>:<start ticks since boot>" (Linux), else None.

    Only the start ticks identify the process: counted from boot they never move, while
    psutil's wall-clock `create_time()` and `boot_time()` both shift when the system clock
    is set (the same tick count older kits stored after a kernel boot id)."""
    if not psutil.LINUX:
        return None  # elsewhere the start time moves with the clock: the pid check is all we trust
    try:
        boot = psutil.boot_time()  # first: older psutil caches it for create_time()
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        return None
    return f"{boot:.0f}:{round((started - boot) * _TICKS_PER_S)}"


def _start_ticks(identity: str) -> str:
    return identity.rpartition(":")[2]


def owner_of(pid: int | None) -> tuple[int, str | None, str]:
    """(pid, identity, host) to record for a run owned by `pid`, default this process."""
    pid = os.getpid() if pid is None else pid
    return pid, process_identity(pid), socket.gethostname()


def owner_alive(pid: int | None, identity: str | None, host: str | None) -> bool:
    """Whether the process that owns a run still runs (unknown → assumed alive)."""
    if pid is None:
        return True
    if host and host != socket.gethostname():
        return True  # another machine's process: we cannot tell, so never close it
    try:
        if psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return False  # exited, not yet reaped
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists, it is just not ours to inspect
    if identity is None:
        return True
    current = process_identity(pid)
    return current is None or _start_ticks(current) == _start_ticks(identity)
