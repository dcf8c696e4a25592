"""Clusters a run uses but does not own: a local all-purpose cluster, a mapped endpoint.

They answer what `Compute` asks of a job cluster (`LocalCluster`): `url`, `start()`,
`running`, `exit_description()`, `stop()`, `log_path`, `class_cache`; but `stop()`
only lets go of them: an all-purpose cluster stays up for the next run, and a
mapped endpoint belongs to someone else.
"""
from __future__ import annotations

import threading
from pathlib import Path

from course.jobs.local.compute import allpurpose
from course.runtime.spark import reachable  # one connection check for runtime and runner

HEARTBEAT_SECONDS = 5


class AllPurposeCluster:
    """A run's hold on a local all-purpose cluster: starts it if needed, keeps it busy."""

    class_cache = None

    def __init__(self, spec: allpurpose.ClusterSpec):
        from course.jobs.local.compute.cluster import free_port

        self.spec = spec
        self.log_path: Path = allpurpose.log_file(spec.key)
        self.was_running = False
        state = allpurpose.read_state(spec.key)
        if allpurpose.is_running(state) and state.get("url"):
            self.url = state["url"]            # warm: kernels connect at once
        else:                                   # known before it starts, so kernels can be told
            spec.port = free_port()
            self.url = f"sc://127.0.0.1:{spec.port}"
        self._state: dict = {}
        self._done = threading.Event()

    def start(self) -> str:
        self.was_running = allpurpose.is_running(allpurpose.read_state(self.spec.key))
        self._state = allpurpose.ensure_running(self.spec)
        if self._state["url"] != self.url:
            raise allpurpose.ClusterStartError(
                f"all-purpose cluster '{self.spec.key}' was started by another process at "
                f"{self._state['url']} meanwhile; run again")
        threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{self.spec.key}").start()
        return self.url

    def _beat(self) -> None:
        while not self._done.wait(HEARTBEAT_SECONDS):
            allpurpose.touch(self.spec.key)

    @property
    def running(self) -> bool:
        return bool(self._state) and allpurpose.is_running(allpurpose.read_state(self.spec.key))

    def exit_description(self) -> str:
        state = allpurpose.read_state(self.spec.key) or {}
        return f"it terminated ({state.get('reason') or 'its supervisor is gone'})"

    def stop(self) -> None:
        """Let go: the cluster's idle time starts now; it stays up."""
        if not self._done.is_set():
            self._done.set()
            if self._state:
                allpurpose.touch(self.spec.key)


class MappedEndpoint:
    """An existing Spark Connect server named in the cluster mapping file (sc://host:port)."""

    class_cache = None

    def __init__(self, key: str, url: str, source: str):
        self.key, self.url, self.source = key, url, source
        self.log_path = source

    def start(self) -> str:
        why = reachable(self.url)
        if why:
            raise ConnectionError(f"cluster '{self.key}' is mapped to {self.url} in {self.source}, "
                                  f"which does not answer ({why})")
        return self.url

    running = True

    def exit_description(self) -> str:
        return "the endpoint went away"

    def stop(self) -> None:
        pass
