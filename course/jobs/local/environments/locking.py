"""One builder at a time per cache entry, across threads and processes (runners racing).

`flock` on a lock file beside the entry: released by the kernel if the holder dies, so a
runner killed mid-build never leaves the next one waiting; the next one finds no completion
marker and builds again from scratch.
"""
from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:  # each caller its own open file: flock excludes threads too
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
