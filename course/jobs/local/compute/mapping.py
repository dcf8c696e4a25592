"""Clusters beyond this machine: `DAY7_CLUSTERS=clusters.yml` maps a cluster to an endpoint.

The file (YAML, or JSON by its .json suffix) maps a cluster's name (a job cluster
key, a `resources.clusters` key, or an `existing_cluster_id`) to where it runs::

    etl: sc://spark-connect.example.com:15002    # an existing Spark Connect server
    big: spark://10.0.0.5:7077                   # a standalone master: a local driver uses it

A task on a mapped cluster runs there instead of on a local one; an endpoint that
does not answer fails the task in one line. A malformed file stops the run before
it starts (exit 2), naming the file and the entry.
"""
from __future__ import annotations

from urllib.parse import urlparse

from course.platform.mappingfile import read_mapping_file


class ClusterMapError(ValueError):
    """The DAY7_CLUSTERS file is malformed; the message says what and where."""


def load_cluster_map(env: dict[str, str] | None = None) -> tuple[dict[str, str], str | None]:
    """({cluster name: sc:// or spark:// URL}, the file) from DAY7_CLUSTERS; ({}, None) when unset."""
    data, path = read_mapping_file("DAY7_CLUSTERS", ClusterMapError,
                                   "cluster name to sc://host:port or spark://host:port", env)
    out: dict[str, str] = {}
    for name, url in data.items():
        parsed = urlparse(url) if isinstance(url, str) else None
        try:
            port = parsed.port if parsed else None
        except ValueError:
            port = None
        if not parsed or parsed.scheme not in ("sc", "spark") or not parsed.hostname or not port:
            raise ClusterMapError(f"{path}: cluster {str(name)!r}: expected sc://host:port or "
                                  f"spark://host:port, got {url!r}")
        out[str(name)] = url
    return out, (str(path) if path else None)
