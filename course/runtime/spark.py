"""One function gives a notebook or task its SparkSession.

- On Databricks: the platform's session (notebooks there never import the kit,
  but code that calls `get_spark()` still works).
- With SPARK_REMOTE set (the runner's job cluster): a Spark Connect session.
- Otherwise: a local session, started once per process.

A Spark Connect session whose server stopped fails at once in one sentence, and
its process exits without waiting (see "a server that is gone" below).

Local sessions share one warehouse folder and a file-system catalog (see
`catalog.py`), use Delta when its jars are on disk and Parquet otherwise
(`delta.py`), log errors only, and run in UTC like Databricks.
"""
from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from course.platform import paths

# Spark puts SPARK_CONF_DIR on the classpath, where log4j2 finds our quiet config.
CONF_DIR = Path(__file__).with_name("conf")
_lock = threading.Lock()
_session = None


def spark_home() -> Path:
    """The pyspark installation's folder (its jars, bin/spark-submit), found without importing
    pyspark: ~0.3 s that a runner starting a job cluster would pay before the JVM's launch."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        import pyspark  # raises the usual ImportError

        return Path(pyspark.__file__).parent
    return Path(list(spec.submodule_search_locations)[0])


def spark_version() -> str:
    """pyspark's version from its package metadata (importing pyspark costs ~0.3 s)."""
    from importlib import metadata

    try:
        return metadata.version("pyspark")
    except metadata.PackageNotFoundError:  # a pyspark that is not an installed distribution
        from pyspark import __version__

        return __version__


# The JVM's optimising compiler (C2) pays off in long hot loops; a Day 7 job is many short
# queries, each with freshly generated classes, and on a laptop C2's compiler threads took
# more CPU than the queries themselves (6-11 s of a 12 s warm run on 2 cores). C1 alone
# compiles ~10x cheaper; its code cache must then be sized as tiered compilation sizes it
# (C1 alone gets 48 MB, and the sweeper then burns CPU evicting). DAY7_JIT=full restores
# the JVM's default for long, heavy jobs. See the README's Performance section.
QUICK_JIT = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"


def jit_options() -> str:
    return "" if os.environ.get("DAY7_JIT", "").lower() == "full" else QUICK_JIT


def base_conf(cores: int | None = None) -> dict[str, str]:
    """Spark settings every local session and job cluster shares (spark_conf can override)."""
    cores = cores or os.cpu_count() or 2
    conf = {
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(paths.warehouse_dir()),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Another process (a job run, the learner's notebook) may overwrite a table at any
        # time: list its files on every read instead of caching them per session.
        "spark.sql.filesourceTableRelationCacheSize": "0",
    }
    if options := jit_options():
        conf["spark.driver.extraJavaOptions"] = options
    from course.runtime import delta  # importlib.metadata is ~20 ms: only when Spark starts

    conf.update(delta.storage().conf)
    return conf


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def _prepare(session):
    """What every kit-made session gets: the overwrite fix and the tables on disk."""
    from course.runtime import catalog, delta

    # pyspark also logs every failed query as a JSON blob on stderr; the exception
    # already says it all, so keep learners' cells readable.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    from course.runtime import unity

    warehouse = paths.warehouse_dir()
    catalog.install_overwrite_fix(warehouse)
    unity.install_writer_names()  # after the overwrite fix: it sees the mapped name
    from course.runtime.dbx import sparkpaths

    sparkpaths.install()  # Databricks paths in every reader and writer (dbx/sparkpaths.py)
    catalog.register_tables(session, warehouse, delta.storage().format == "delta")
    return session


def _connect(url: str, cluster: str | None = None):
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(url).getOrCreate()
    # a stopped cluster fails the next cell at once, in one sentence, and exit does not hang
    watch_for_gone_server(session, url, cluster,
                          why=lambda: _cluster_state(cluster).get("reason") if cluster else None)
    # A new job cluster's catalog is empty: the first session registers the tables on
    # disk; later ones find them known (the catalog is shared by the server's sessions).
    return _prepare(session)


def _local():
    from course.platform.java import require_java

    from course.runtime import delta

    require_java()
    os.environ.setdefault("SPARK_CONF_DIR", str(CONF_DIR))
    # pyspark sets this in a process once it has used Spark Connect, and children
    # inherit it; then even a local builder insists on a remote URL.
    for leftover in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE"):
        os.environ.pop(leftover, None)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(f"local[{os.cpu_count() or 2}]").appName("day7")
    for key, value in base_conf().items():
        builder = builder.config(key, value)
    delta.announce()
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return _prepare(session)


def get_spark():
    """The session for this process: Databricks', the job cluster's, the all-purpose cluster
    named by DAY7_CLUSTER when it runs, or a local one."""
    global _session
    with _lock:
        if _session is not None and not _is_stopped(_session):
            return _session
        if on_databricks():
            from pyspark.sql import SparkSession
            _session = SparkSession.builder.getOrCreate()
        elif os.environ.get("SPARK_REMOTE"):
            _session = _connect(os.environ["SPARK_REMOTE"])
        elif os.environ.get("DAY7_CLUSTER") and _cluster_url(os.environ["DAY7_CLUSTER"]):
            _session = _connect(_cluster_url(os.environ["DAY7_CLUSTER"]), os.environ["DAY7_CLUSTER"])
        else:
            _session = _local()
        return _session


def _cluster_file(key: str, suffix: str) -> Path:
    import re

    return paths.clusters_dir() / (re.sub(r"[^A-Za-z0-9_.-]", "_", key) + suffix)


def _cluster_state(key: str) -> dict:
    """A local all-purpose cluster's state file, written by its supervisor (jobs/local/compute)."""
    import json

    try:
        return json.loads(_cluster_file(key, ".json").read_text())
    except (OSError, ValueError):
        return {}


def _cluster_url(key: str) -> str | None:
    """The Spark Connect URL of a running local all-purpose cluster, and a heartbeat:
    attaching is work."""
    state = _cluster_state(key)
    if state.get("state") != "RUNNING" or not state.get("url"):
        return None
    _cluster_file(key, ".heartbeat").touch()
    return state["url"]


def attach(cluster: str):
    """Attach this notebook to the running all-purpose cluster `cluster` (a key of the
    bundle's resources.clusters), as on Databricks: `spark` then runs there and sees the
    tables jobs on it wrote a moment ago. Start it with `runner.py clusters start KEY`."""
    global _session
    url = _cluster_url(cluster)
    if url is None:
        raise RuntimeError(f"all-purpose cluster '{cluster}' is not running: start it with "
                           f"`python runner.py clusters start {cluster}` (or run a job that uses it)")
    with _lock:
        if _session is not None and not _is_stopped(_session) and not hasattr(_session, "is_stopped"):
            _session.stop()  # a local JVM session: the notebook now works on the cluster
        _session = _connect(url, cluster)
        return _session


def _is_stopped(session) -> bool:
    if hasattr(session, "is_stopped"):  # Spark Connect
        return session.is_stopped
    return session.sparkContext._jsc is None


def refresh_tables() -> list[str]:
    """Register tables other processes created since this session started."""
    from course.runtime import catalog, delta

    return catalog.register_tables(get_spark(), paths.warehouse_dir(), delta.storage().format == "delta")


class _MappedReader:
    """A DataFrameReader whose table names may be three-part (`unity.py`) and format "delta"
    without Delta's jars. (Its paths are mapped by the reader itself: dbx/sparkpaths.py.)"""

    _TIME_TRAVEL = {"versionasof", "timestampasof"}

    def __init__(self, reader):
        self._reader = reader

    def __getattr__(self, name):
        from course.runtime import unity

        attr = getattr(self._reader, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if name == "table" and args:
                args = (unity.table_name(args[0]),) + tuple(args[1:])
            elif name == "format" and args:
                args = (unity.local_format(args[0]),) + tuple(args[1:])
            elif name == "option" and args and str(args[0]).lower() in self._TIME_TRAVEL \
                    and unity.parquet_only():
                raise unity.delta_only(f"time travel (option {args[0]!r})")
            result = attr(*args, **kwargs)
            return _MappedReader(result) if type(result) is type(self._reader) else result

        return call

    def __repr__(self):
        return repr(self._reader)


class SparkProxy:
    """`spark` for notebooks: the real session, created on first use."""

    def __getattr__(self, name):
        session = get_spark()
        if name in {"read", "readStream"}:
            return _MappedReader(getattr(session, name))
        if name in {"sql", "table", "catalog"}:  # Unity Catalog names, Delta-only SQL (unity.py)
            from course.runtime import unity

            if name == "sql":
                return lambda sqlQuery, args=None, **kwargs: unity.sql(session, sqlQuery, args, **kwargs)
            if name == "table":
                return lambda tableName: session.table(unity.table_name(tableName))
            return unity.MappedCatalog(session.catalog)
        return getattr(session, name)

    def __dir__(self):
        return dir(get_spark())

    def __repr__(self):
        return f"<day7 spark proxy for {get_spark()!r}>" if _session is not None else "<day7 spark (not started yet)>"


spark = SparkProxy()


# ------------------------------------------------------------ a server that is gone
# A Spark Connect session that notices when its server is gone.
#
# pyspark's client retries an unreachable server for at least ten minutes (its
# DefaultPolicy), and at interpreter exit it sends one more request through the same
# retries. When a local cluster stops (auto-termination, `clusters stop`) a notebook
# attached to it would then hang ten minutes on its next cell, and a script that had
# used it would hang ten minutes on exit, saying nothing.
#
# A server on this machine that refuses connections is not coming back by waiting: the
# session does not retry it (one that listens but is busy keeps pyspark's retries), and at
# exit a server that does not answer is not asked anything. A server on another machine
# keeps pyspark's patience for the network, but exit still does not wait for it. Either way,
# once retrying gives up, the error is one sentence naming the cluster and what to do
# (`ClusterGone`), not gRPC's multi-line status dump.

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def reachable(url: str, timeout: float = 3) -> str | None:
    """None when host:port of `url` accepts a connection, else why not, in a few words."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 15002), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def answers(url: str, timeout: float = 1.0) -> bool:
    return reachable(url, timeout) is None


def local_policy(url: str):
    """pyspark's retries, but none once the port refuses connections: a server on this
    machine that does not listen is gone, and waiting does not bring it back."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    class LocalServerPolicy(DefaultPolicy):
        def can_retry(self, e: BaseException) -> bool:
            return super().can_retry(e) and answers(url)

    return LocalServerPolicy()


class ClusterGone(ConnectionError):
    """The Spark Connect server this session works on no longer answers."""


def _unavailable(error: BaseException) -> bool:
    import grpc

    return isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.UNAVAILABLE


def watch_for_gone_server(session, url: str, cluster: str | None = None, why=lambda: None) -> None:
    """Give `session` (connected to `url`) the behaviour above. `cluster`: the all-purpose
    cluster's key when the session attached to one; `why()`: why it stopped, if known."""
    client = getattr(session, "client", None)
    if client is None:
        return
    if urlparse(url).hostname in LOOPBACK:
        client.set_retry_policies([local_policy(url)])
    handle_error = client._handle_error   # pyspark's one place that turns RPC errors into exceptions

    def say_the_cluster_is_gone(error):
        if _unavailable(error) and not answers(url):
            if cluster is None:
                raise ClusterGone(f"the Spark Connect server {url} does not answer: the cluster this "
                                  "session worked on has stopped.") from None
            reason = why()
            what = f"it was terminated ({reason})" if reason else "it is not running any more"
            raise ClusterGone(f"all-purpose cluster '{cluster}' ({url}) does not answer: {what}. Start it "
                              f"with `python runner.py clusters start {cluster}`, then run "
                              f"attach(\"{cluster}\") again.") from None
        handle_error(error)

    client._handle_error = say_the_cluster_is_gone
    _brief_in_ipython()

    def skip_exit_requests_to_a_gone_server():
        # runs before pyspark's own exit handler (atexit is last in, first out)
        if not client.is_closed and not answers(url):
            client.close()

    atexit.register(skip_exit_requests_to_a_gone_server)


def _brief_in_ipython() -> None:
    """In a notebook, ClusterGone shows as its sentence alone, without pyspark's dozen frames
    (the cell still fails: nbval, papermill and the runner see the error)."""
    import sys

    ipython = sys.modules.get("IPython")
    ip = ipython.get_ipython() if ipython else None
    if ip is None or getattr(ip, "_day7_cluster_gone", False):
        return
    previous_types = tuple(ip.custom_exceptions)
    previous = ip.CustomTB if previous_types else None

    def handler(shell, etype, value, tb, tb_offset=None):
        if issubclass(etype, ClusterGone):
            return shell.showtraceback((etype, value, None))
        return previous(etype, value, tb, tb_offset=tb_offset)  # someone else's custom exception

    ip.set_custom_exc(previous_types + (ClusterGone,), handler)
    ip._day7_cluster_gone = True
