"""`runner.py doctor`: is this machine ready for the kit? One line per check."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from course.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE

OK, WARN, FAIL = "ok", "warn", "fail"


def register(subparsers) -> None:
    p = subparsers.add_parser("doctor", help="check Python, Java, Spark, Delta, Jupyter and Databricks credentials")
    p.add_argument("--no-spark", action="store_true", help="skip starting a Spark session (the slow check)")
    p.add_argument("--fetch-delta", action="store_true",
                   help="download Delta Lake's jars once (from Maven Central or DAY7_MAVEN_REPO) into the jar cache")
    p.set_defaults(handler=handle)


def check_python():
    version = ".".join(map(str, sys.version_info[:3]))
    return (OK if sys.version_info >= (3, 11) else FAIL), f"Python {version} ({sys.executable})"


def check_java():
    from course.platform.java import JavaMissing, java_version, require_java

    try:
        java = require_java()
    except JavaMissing as exc:
        return FAIL, str(exc)
    return OK, f"Java {java_version(java)} ({java})"


def check_spark():
    code = ("import time; t=time.time(); from course.runtime.spark import get_spark; "
            "s=get_spark(); n=s.range(10).count(); print(s.version, round(time.time()-t,1))")
    env = dict(os.environ, DAY7_QUIET_STORAGE="1")
    env.pop("SPARK_REMOTE", None)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    except subprocess.TimeoutExpired:
        return FAIL, "a local Spark session did not start within 180 s"
    if out.returncode != 0:
        last = [line for line in out.stderr.splitlines() if line.strip()][-1:] or ["unknown error"]
        return FAIL, f"a local Spark session failed: {last[0][:200]}"
    version, seconds = out.stdout.split()[-2:]
    return OK, f"Spark {version}: local session ready and queried in {seconds} s"


def check_delta():
    from course.runtime import delta

    choice = delta.storage()
    if choice.format == "delta":
        return OK, f"Delta Lake {delta.delta_version()} jars found: tables are Delta"
    return WARN, f"tables will be Parquet: {choice.reason}"


def fetch_delta() -> int:
    """`doctor --fetch-delta`: 0 when the jars are cached, 1 when the repository could not give
    verified jars (offline, 404, wrong SHA-1: the machine's state, not the command, is at fault),
    2 when DAY7_MAVEN_REPO is not a usable URL. Nothing is written unless every jar verified."""
    from course.platform.maven import FetchError, RepoSettingError
    from course.runtime import delta

    try:
        jars = delta.fetch_delta_jars()
    except RepoSettingError as exc:
        print(f"doctor --fetch-delta: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FetchError as exc:
        print(f"doctor --fetch-delta: Delta jars not fetched: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Delta Lake {delta.delta_version()} jars ready: {', '.join(jars)}")
    return EXIT_OK


def check_kernel():
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if "python3" not in specs:
        return FAIL, "no python3 Jupyter kernel: run `python -m ipykernel install --sys-prefix`"
    return OK, f"Jupyter kernel python3 ({specs['python3']})"


def check_widgets():
    try:
        import ipywidgets  # noqa: F401
        from jupyterlab_widgets import __version__ as labext
    except ImportError as exc:
        return FAIL, f"ipywidgets are not installed ({exc.name}): widgets will not render"
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or shutil.which("jupyter")
    if jupyter:
        out = subprocess.run([jupyter, "labextension", "list"], capture_output=True, text=True, timeout=60)
        text = out.stdout + out.stderr
        if "@jupyter-widgets/jupyterlab-manager" in text and "enabled" in text:
            return OK, f"ipywidgets {ipywidgets.__version__} with the JupyterLab extension {labext} enabled"
        return WARN, "ipywidgets installed but the JupyterLab widget extension is not listed as enabled"
    return WARN, f"ipywidgets {ipywidgets.__version__} installed; JupyterLab not found to check the extension"


def check_databricks():
    """Whether a workspace is configured and answers; never prints a secret."""
    from course.jobs import workspace as remote

    try:
        client = remote.workspace_client()
    except remote.RemoteError as exc:
        message = str(exc)
        if message.startswith("no Databricks workspace configured"):
            return WARN, "no Databricks workspace configured (needed only for deploy and --on databricks)"
        return WARN, message
    host = client.config.host
    return OK, f"Databricks workspace {host} as {remote.current_user(client)}"


CHECKS = [("python", check_python), ("java", check_java), ("spark", check_spark), ("delta", check_delta),
          ("jupyter kernel", check_kernel), ("ipywidgets", check_widgets), ("databricks", check_databricks)]


def handle(args) -> int:
    if args.fetch_delta:
        return fetch_delta()
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    marks = {OK: ("\x1b[32m", "ok  "), WARN: ("\x1b[33m", "warn"), FAIL: ("\x1b[31m", "fail")}
    failed = False
    java_ok = True
    for name, check in CHECKS:
        if name == "spark" and (args.no_spark or not java_ok):
            verdict, text = WARN, "skipped" + (" (no Java)" if not java_ok else " (--no-spark)")
        else:
            try:
                verdict, text = check()
            except Exception as exc:
                verdict, text = FAIL, f"check crashed: {type(exc).__name__}: {exc}"
        if name == "java" and verdict == FAIL:
            java_ok = False
        failed |= verdict == FAIL
        code, word = marks[verdict]
        word = f"{code}{word}\x1b[0m" if colour else word
        print(f"{word}  {name:<15} {text}")
    return EXIT_FAILED if failed else EXIT_OK
