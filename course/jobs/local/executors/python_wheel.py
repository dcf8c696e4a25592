"""python_wheel_task: call the entry point of an installed wheel, as Databricks does.

The task's libraries (`whl: ./dist/*.whl`, the bundle's artifact) or its environment's
dependencies are installed into its isolated environment first (course.jobs.local.environments);
then that environment's Python (the kit's, for a task with neither) looks the entry point up in the package's metadata, in any
group (`[project.scripts]`, `console_scripts` or another: the CLI's wheel wrapper does the
same), and calls it with `sys.argv = [package_name, *arguments]`. An entry point the metadata
does not have is `package_name.entry_point()`, as the Jobs API says. `parameters` are the
arguments as written; `named_parameters` become `--key=value`, with the job's parameters
pushed down as Databricks pushes them to keyword-argument tasks. Output goes to stdout.log.
"""
from __future__ import annotations

from course.jobs.local.compute.env import child_env
from course.jobs.local.executors.base import AttemptRequest, Outcome
from course.jobs.local.executors.python_file import environment_of, run_python
from course.jobs.model import params

NEEDS_COMPUTE = True

# Run by the environment's interpreter as a script: argv is package, entry point, arguments.
LAUNCHER = '''"""Written by the Day 7 kit: calls a wheel's entry point as a Databricks python_wheel_task."""
import importlib
import sys
from importlib import metadata

package, entry_point, *arguments = sys.argv[1:]
sys.argv = [package, *arguments]
try:
    dist = metadata.distribution(package)
except metadata.PackageNotFoundError:
    raise SystemExit(f"package '{package}' is not installed in the task's environment: "
                     "add its wheel to the task's libraries (whl: ./dist/*.whl) or its environment's dependencies")
found = [ep for ep in dist.entry_points if ep.name == entry_point]
if found:
    function = found[0].load()
else:  # the Jobs API: "it executes the function from the package directly using $packageName.$entryPoint()"
    module = importlib.import_module(package.replace("-", "_"))
    function = getattr(module, entry_point, None)
    if function is None:
        names = ", ".join(sorted(ep.name for ep in dist.entry_points)) or "none"
        raise SystemExit(f"entry point '{entry_point}' not found in package '{package}' "
                         f"(its entry points: {names}; nor is there a function {package}.{entry_point})")
function()
'''


def arguments(req: AttemptRequest) -> list[str]:
    """argv after the package name: `parameters` as written, or `--key=value` for each of
    `named_parameters` and then the job's parameters (pushed down, as to keyword-argument tasks)."""
    wheel = req.task.python_wheel_task
    where = f"task '{req.task.task_key}'"
    if wheel.parameters:
        return [params.resolve_refs(params.render_value(a), req.refs, where=f"{where} argument {i}")
                for i, a in enumerate(wheel.parameters)]
    named = {k: params.resolve_refs(params.render_value(v), req.refs, where=f"{where} parameter '{k}'")
             for k, v in (wheel.named_parameters or {}).items()}
    named.update(req.job_parameters)
    return [f"--{k}={v}" for k, v in named.items()]


def execute(req: AttemptRequest) -> Outcome:
    task, wheel = req.task, req.task.python_wheel_task
    out_dir = req.output_stem
    req.record_output(str(out_dir / "stdout.log"))
    args = arguments(req)
    prepared = environment_of(req)
    if isinstance(prepared, Outcome):
        return prepared
    out_dir.mkdir(parents=True, exist_ok=True)
    launcher = out_dir / "python_wheel_task.py"
    launcher.write_text(LAUNCHER)
    return run_python(launcher, [wheel.package_name, wheel.entry_point, *args], out_dir,
                      dict(req.context._asdict()), child_env(req.compute.remote_url(task)), req.attempt,
                      python=str(prepared.python) if prepared else None,
                      label=f"{wheel.package_name}:{wheel.entry_point}")
