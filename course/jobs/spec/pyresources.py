"""Jobs defined in Python (`python:` in databricks.yml, the `databricks-bundles` package).

The CLI runs ``python -m databricks.bundles.build --phase load_resources`` (then
``apply_mutators``) with the bundle as JSON and merges the resources it returns; the kit does
the same, in the bundle's folder, with ``python.venv_path``'s interpreter when the bundle names
one and has it, else the kit's own. Paths in a Python-defined job are relative to the .py file
that defines it, as the CLI reads the locations the build reports.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from course.jobs.spec.errors import JobSpecError

__all__ = ["has_python", "load_python_resources"]


def has_python(tree: dict) -> bool:
    return bool(tree.get("python") or (tree.get("experimental") or {}).get("python"))


def _interpreter(conf: dict, root: Path, file: Path) -> str:
    venv = conf.get("venv_path")
    if venv:
        python = (root / venv / "bin" / "python")
        if python.is_file():
            return str(python)
    probe = subprocess.run([sys.executable, "-c", "import databricks.bundles.build"], capture_output=True)
    if probe.returncode != 0:
        raise JobSpecError(file, "python", "jobs defined in Python need the databricks-bundles package: "
                                           "pip install databricks-bundles (or set python.venv_path to a "
                                           "virtualenv that has it)")
    return sys.executable


def _phase(python: str, phase: str, data: dict, root: Path, file: Path) -> tuple[dict, list[dict]]:
    """One build phase: (the bundle it returns, the locations it reports)."""
    with tempfile.TemporaryDirectory(prefix="day7-pybundle-") as folder:
        tmp = Path(folder)
        (tmp / "input.json").write_text(json.dumps(data))
        done = subprocess.run([python, "-m", "databricks.bundles.build", "--phase", phase,
                               "--input", str(tmp / "input.json"), "--output", str(tmp / "output.json"),
                               "--diagnostics", str(tmp / "diagnostics.json"),
                               "--locations", str(tmp / "locations.json")],
                              cwd=root, capture_output=True, text=True, timeout=300)
        problems = [json.loads(line) for line in _lines(tmp / "diagnostics.json")]
        errors = [p for p in problems if p.get("severity") == "error"]
        if errors or done.returncode != 0 or not (tmp / "output.json").is_file():
            first = errors[0] if errors else {"summary": (done.stderr.strip().splitlines() or ["no output"])[-1]}
            where = f" ({first['location']['file']}:{first['location'].get('line')})" if first.get("location") else ""
            raise JobSpecError(file, "python", f"{phase} failed{where}: {first.get('summary')} "
                                               f"{first.get('detail') or ''}".rstrip())
        return json.loads((tmp / "output.json").read_text()), [json.loads(x) for x in _lines(tmp / "locations.json")]


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def load_python_resources(tree: dict, target: str | None, target_variables: dict, root: Path,
                          file: Path) -> tuple[dict, dict[str, Path]]:
    """(resources with the Python-defined ones added, job key -> the .py file defining it).
    The Python code sees variables as the bundle and the target set them (`--var` is applied
    later, to the YAML that comes back, where `${var.x}` is substituted)."""
    conf = tree.get("python") or (tree.get("experimental") or {}).get("python") or {}
    python = _interpreter(conf, root, file)
    def value(name, spec):
        chosen = target_variables.get(name, spec.get("default") if isinstance(spec, dict) else spec)
        return chosen.get("default") if isinstance(chosen, dict) and "default" in chosen else chosen
    variables = {name: {"value": value(name, spec)} for name, spec in (tree.get("variables") or {}).items()}
    data = {"bundle": {**(tree.get("bundle") or {}), "target": target or "default"}, "variables": variables,
            "python": conf, "resources": tree.get("resources") or {}}
    out, locations = _phase(python, "load_resources", data, root, file)
    if conf.get("mutators"):
        out, more = _phase(python, "apply_mutators", out, root, file)
        locations += more
    declared = {}
    for loc in locations:
        parts = str(loc.get("path", "")).split(".")
        if len(parts) == 3 and parts[:2] == ["resources", "jobs"] and loc.get("file"):
            declared[parts[2]] = (root / loc["file"]).resolve()
    return out.get("resources") or {}, declared
