"""The local job cluster: a Spark Connect server that lives exactly as long as a run.

On Databricks a job cluster starts when the job begins and terminates when it
ends. Locally that is one Spark Connect server (its jar ships in the pyspark
wheel) started with the cluster's `spark_conf` on a free 127.0.0.1 port; every
task of the run connects to it through SPARK_REMOTE, so tasks skip the ~6 s JVM
start and share tables.

No JVM may outlive the runner: the server is stopped on exit, and the kernel
kills it (PR_SET_PDEATHSIG) if the runner dies without cleaning up (SIGKILL).
The same class is an all-purpose cluster's JVM, then a child of its supervisor
(`supervisor.py`) instead of the runner. With `workers` it first starts a
standalone master and workers (`standalone.py`) and drives them; with `master`
it drives an existing standalone master (a mapped cluster).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from course.platform import paths
from course.platform import lifeline


# The local workspace server sets this for the runs it starts (course/server/launcher.py):
# their clusters serve the Spark UI. Off elsewhere: the UI adds to every JVM start.
UI_SWITCH = "DAY7_SPARK_UI"
UI_SUFFIX = ".sparkui"   # next to the cluster's log: the UI's URL, while the JVM runs


def ui_wanted() -> bool:
    return os.environ.get(UI_SWITCH) == "1"


def running_uis(folder: Path) -> list[dict[str, str]]:
    """The Spark UIs of the clusters whose logs are in `folder` and that still run
    ({"name", "url"}); a cluster removes its file when it stops."""
    out = []
    for marker in sorted(folder.glob(f"*{UI_SUFFIX}")):
        try:
            url = marker.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if url.startswith("http://127.0.0.1:"):
            out.append({"name": marker.stem, "url": url})
    return out


class ClusterError(RuntimeError):
    """The job cluster could not start; the message points at its log file."""


_GOOD_PORTS: set[int] = set()


def free_port() -> int:
    """A free port outside the system's ephemeral range (port-for). A port is chosen well
    before the JVM binds it (kernels are told it first); one from the ephemeral range could
    meanwhile go to any socket bound to port 0 (a worker's, a kernel's), and the cluster
    would then seem ready on someone else's listener while its own server failed to bind."""
    import port_for

    if not _GOOD_PORTS:  # computing the ranges takes ~0.1 s: once per process
        _GOOD_PORTS.update(port_for.available_good_ports())
    return port_for.select_random(set(_GOOD_PORTS))


def listens_in(pid: int, port: int) -> bool:
    """True when `pid` or one of its descendants listens on 127.0.0.1:`port`."""
    import psutil

    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        return False
    for proc in family:
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in proc.net_connections(kind="tcp")):
                return True
        except psutil.Error:
            continue
    return False


def serving(port: int, process: subprocess.Popen, what: str, log: Path | str) -> bool:
    """True once `process` (or a child) accepts connections on `port`; ClusterError when
    another process holds the port (the JVM's own bind then fails)."""
    if not port_open(port):
        return False
    if listens_in(process.pid, port):
        return True
    raise ClusterError(f"port {port}, chosen for the {what}, was taken by another process while it "
                       f"started; start it again (see {log})")


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class LocalCluster:
    """Start with `start()` (or `with LocalCluster(...) as cluster:`), connect via `url`."""

    def __init__(self, spark_conf: dict[str, str] | None = None, *, name: str = "job-cluster",
                 log_path: Path | None = None, cores: int | None = None, workers: int = 0,
                 master: str | None = None):
        self.spark_conf = {str(k): str(v) for k, v in (spark_conf or {}).items()}
        self.name = name
        self.cores = cores or os.cpu_count() or 2
        self.log_path = log_path or paths.logs_dir() / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        self.port: int = free_port()  # known up front, so kernels can be told where to connect
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self.class_cache = None  # classcache.ClassCache while this JVM uses or builds one
        self.local_dir: str | None = None  # Spark's scratch space, removed by stop()
        self.workers = workers      # > 0: a standalone master and that many workers (standalone.py)
        self.master = master        # spark://host:port of an existing standalone master (mapped)
        self.standalone = None      # standalone.Standalone while this cluster runs its own workers
        # the Spark UI's port, when on; not for a mapped master, where the UI could not stay on loopback
        self.ui_port: int | None = free_port() if ui_wanted() and not master else None

    @property
    def ui_file(self) -> Path:
        return self.log_path.with_suffix(UI_SUFFIX)

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ClusterError("the job cluster is not started")
        return f"sc://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        from course.runtime.spark import base_conf, spark_home as find_spark_home

        spark_home = find_spark_home()
        conf = base_conf(self.cores)
        conf.update(self.spark_conf)
        if self.ui_port:  # after spark_conf: the recorded URL must be where the UI is
            conf.update({"spark.ui.enabled": "true", "spark.ui.port": str(self.ui_port)})
        if self.local_dir:
            conf.setdefault("spark.local.dir", self.local_dir)
        conf["spark.connect.grpc.binding.address"] = "127.0.0.1"
        conf["spark.connect.grpc.binding.port"] = str(self.port)
        memory = conf.pop("spark.driver.memory", "2g")
        # No hsperfdata file: nothing here reads it, and a killed JVM would leave it behind.
        # the kit's JIT choice first, the cluster's own spark_conf options after it (the last flag wins)
        from course.runtime.spark import jit_options

        options = [jit_options(), self.spark_conf.get("spark.driver.extraJavaOptions", ""), "-XX:-UsePerfData"]
        if self.class_cache is not None:
            from course.runtime.spark import CONF_DIR

            options += [f"-Dlog4j2.configurationFile=file:{CONF_DIR / 'log4j2.properties'}",
                        *self.class_cache.java_options()]
        conf["spark.driver.extraJavaOptions"] = " ".join(o for o in options if o)
        master = f"local[{self.cores}]"
        if self.standalone is not None:
            conf.update(self.standalone.driver_conf())
            master = self.standalone.master_url
        elif self.master:
            master = self.master
        cmd = [str(spark_home / "bin" / "spark-submit"), "--master", master,
               "--name", self.name, "--driver-memory", memory,
               "--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
        for key, value in conf.items():
            cmd += ["--conf", f"{key}={value}"]
        return cmd + ["spark-internal"]

    def start(self, timeout: float = 120) -> str:
        """Start the server and wait until it accepts connections; returns its URL."""
        if self.master:  # a mapped master that is down: one line now, not minutes of retries
            from course.runtime.spark import reachable

            why = reachable(self.master)
            if why:
                raise ClusterError(f"the standalone master {self.master} does not answer ({why})")
        if self.workers > 0:
            from course.jobs.local.compute.standalone import Standalone

            self.standalone = Standalone(self.workers, self.log_path.parent, name=self.log_path.stem)
            # first: a failure leaves nothing else to undo; the driver then boots while the workers do
            workers_deadline = self.standalone.launch(timeout)
        from course.platform.java import require_java

        from course.jobs.local.compute import classcache
        from course.runtime.spark import CONF_DIR, spark_home as find_spark_home

        spark_home = find_spark_home()
        self.class_cache = classcache.for_jvm(require_java(), spark_home)
        self.local_dir = tempfile.mkdtemp(prefix=f"day7-{self.name}-")
        conf_dir = self.class_cache.conf_dir if self.class_cache else CONF_DIR
        env = dict(paths.child_environment(), SPARK_HOME=str(spark_home), SPARK_CONF_DIR=str(conf_dir))
        env.pop("SPARK_REMOTE", None)
        if self.ui_port:
            env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the UI binds there, not on every interface
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        # SIGTERM on the runner's death lets Spark shut down cleanly; launched from the
        # lifeline thread because the death signal follows the forking thread.
        self.process = lifeline.launch(
            subprocess.Popen, self.command(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, preexec_fn=lifeline.process_group_preexec(signal.SIGTERM))
        log.close()
        deadline = time.monotonic() + timeout
        while not self._serving():
            if self.process.poll() is not None:
                self.stop()  # releases what the JVM held (the class archive it was building)
                raise ClusterError(f"the job cluster exited with code {self.process.returncode} "
                                   f"while starting; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise ClusterError(f"the job cluster did not answer within {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.05)
        if self.standalone is not None:
            try:
                self.standalone.wait_workers(workers_deadline)
            except RuntimeError as exc:
                self.stop()
                raise ClusterError(str(exc)) from None
        # Spark binds its UI before the Connect service; closed means it had to take another port
        if self.ui_url and port_open(self.ui_port):
            self.ui_file.write_text(self.ui_url + "\n", encoding="utf-8")
        return self.url

    def _serving(self) -> bool:
        try:
            return serving(self.port, self.process, "job cluster", self.log_path)
        except ClusterError:
            try:  # the whole group: spark-submit may still be running its launcher JVM
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.stop()
            raise

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_description(self) -> str:
        code = self.process.returncode if self.process else None
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"its Spark JVM exited ({how})"

    def stop(self, timeout: float = 15) -> None:
        """Stop the server: at once (SIGKILL) when nothing needs a clean JVM exit, as every
        table write has committed by then; SIGTERM and a wait while it writes the class
        archive. Either way its scratch folder goes, and the record of its Spark UI."""
        if self.ui_port:
            self.ui_file.unlink(missing_ok=True)
        if self.process is None:
            if self.standalone is not None:
                self.standalone.stop()
            return
        if self.process.poll() is None:
            if self.class_cache is not None and self.class_cache.building:
                self.process.terminate()
                timeout = max(timeout, 90)  # writing the class archive takes a few seconds, once
            else:
                self.process.kill()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.standalone is not None:  # after the driver: executors need not outlive it
            self.standalone.stop()
        if self.class_cache is not None:
            self.class_cache.finished(self.process.returncode)
        if self.local_dir:
            shutil.rmtree(self.local_dir, ignore_errors=True)
            self.local_dir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
