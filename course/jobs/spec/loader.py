"""Load and validate a job definition: a Databricks Asset Bundle or a Jobs API JSON.

``load_job(path)`` returns a :class:`LoadedJob` whose ``settings`` is a
``databricks.sdk.service.jobs.JobSettings`` with local, absolute notebook paths;
every problem is a :class:`JobSpecError` naming the file, the field path and what
is wrong, e.g.::

    databricks.yml: resources.jobs.day7_medallion.tasks[1].depends_on[0]: task 'bronz' does not exist (tasks: bronze, silver, gold)

Bundle semantics follow the Databricks CLI:

* ``include:`` globs (relative to the bundle root) are merged in; a job key
  defined in two files is an error. Relative paths in a task are relative to the
  file that declares them and are rewritten relative to the bundle root.
* Target overrides merge into the top level: mappings recursively, scalars
  replace, sequences append, and then ``tasks`` / ``job_clusters`` /
  ``parameters`` / ``environments`` entries with the same key are merged into one.
* Variable values: ``variables=`` argument > ``BUNDLE_VAR_<name>`` env > target
  ``variables`` > ``default``. ``${var.x}``, ``${bundle.name}``, ``${bundle.target}``,
  ``${workspace.root_path|file_path|artifact_path|state_path|host}`` and
  ``${workspace.current_user.userName|short_name}`` are substituted; other
  ``${…}`` (``${resources.…}``) stay literal, ``{{…}}`` always stays for run time.
* ``mode: development`` pauses ``schedule``, ``trigger`` and ``continuous`` unless
  they say ``pause_status: UNPAUSED`` explicitly (CLI behaviour).

Unknown fields are found by walking the databricks-sdk dataclasses' type hints
(``from_dict`` silently drops them); the same walk checks enum values, required
fields and scalar types, converting ``"3"`` → 3 where a variable produced a string.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import enum
import glob
import json
import os
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from course.jobs.model import dag
from course.jobs.model.cron import validate_quartz_cron
from course.jobs.model.params import ParamError, validate_param_name
from course.platform.user import current_user, short_name

__all__ = ["JobSpecError", "LoadedJob", "load_job", "list_jobs", "DEFAULT_JOB_KEY"]

DEFAULT_JOB_KEY = "day7_medallion"
DEFAULT_TARGET = "dev"       # the bundle target a workspace gets unless told otherwise

NOTEBOOK_EXTS = (".ipynb", ".py", ".sql", ".scala", ".r")
BUNDLE_KEYS = {"bundle", "include", "variables", "workspace", "targets", "environments",
               "resources", "artifacts", "sync", "permissions", "run_as", "presets",
               "experimental", "scripts", "python", "git"}
TARGET_KEYS = {"default", "mode", "bundle", "workspace", "variables", "resources", "artifacts",
               "sync", "permissions", "run_as", "presets", "git", "cluster_id", "compute_id"}
JOB_BUNDLE_ONLY_KEYS = {"permissions"}  # bundle resource fields that are not JobSettings
KEYED_LISTS = {"tasks": "task_key", "job_clusters": "job_cluster_key",
               "parameters": "name", "environments": "environment_key"}
MODES = ("development", "production")
_REF = re.compile(r"\$\{([^}]*)\}")


class JobSpecError(Exception):
    """A job definition problem: ``file``, ``field`` (path), ``problem``, ``line`` (optional)."""

    def __init__(self, file: str | os.PathLike, field: str, problem: str, line: int | None = None):
        self.file, self.field, self.problem, self.line = _display(file), field, problem, line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


@dataclass
class LoadedJob:
    """A validated job, ready to run locally or deploy."""

    key: str                        # resource key (bundle) or job name (JSON)
    settings: Any                   # jobs.JobSettings, notebook paths absolute & local
    source: Path                    # the file given to load_job
    root: Path                      # bundle root (dir of databricks.yml) / the JSON's dir
    target: str | None = None
    mode: str | None = None
    bundle_name: str | None = None
    workspace: dict = field(default_factory=dict)       # root_path, file_path, … resolved
    variables: dict[str, Any] = field(default_factory=dict)  # resolved; scalars as str
    relative_paths: dict[str, str] = field(default_factory=dict)  # task_key -> path from root
    raw: dict = field(default_factory=dict)             # job dict after substitution
    paused: bool = False            # development mode paused a schedule/trigger


# ---------------------------------------------------------------- small helpers

def _display(path) -> str:
    p = Path(path)
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd())
    except ValueError:
        return str(p)
    return str(p) if rel.startswith("..") else rel


def _join(prefix: str, sub: str) -> str:
    if not prefix:
        return sub.lstrip(".")
    return prefix + sub if sub.startswith("[") or sub.startswith(".") else f"{prefix}.{sub}"


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _names(keys) -> str:
    return ", ".join(keys) if keys else "none"


def _read(path: Path) -> Any:
    """Parse JSON or YAML, turning syntax errors into JobSpecErrors with a line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobSpecError(path, "", "file not found") from None
    except OSError as exc:
        raise JobSpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise JobSpecError(path, "", f"JSON syntax error: {exc.msg} (column {exc.colno})",
                               line=exc.lineno) from None
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = " ".join(filter(None, [getattr(exc, "context", None), getattr(exc, "problem", None)]))
        col = f" (column {mark.column + 1})" if mark else ""
        raise JobSpecError(path, "", f"YAML syntax error: {what or exc}{col}",
                           line=mark.line + 1 if mark else None) from None


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        if "resources" in data or "bundle" in data or "include" in data or "targets" in data:
            return "bundle"
        if isinstance(data.get("settings"), dict):
            return "job"
        if "tasks" in data or "name" in data and "job_id" not in data:
            return "settings"
    return "unknown"


# ---------------------------------------------------------------- merging (CLI semantics)

def _merge(a: Any, b: Any) -> Any:
    """Target-override merge: maps recursively, sequences append, scalars replace."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(a[k], v) if k in a else copy.deepcopy(v)
        return out
    if isinstance(a, list) and isinstance(b, list):
        return a + copy.deepcopy(b)
    return copy.deepcopy(b)


def _merge_job(base: dict, override: dict) -> dict:
    """A target's job override: like _merge, but ``tasks`` / ``job_clusters`` /
    ``parameters`` / ``environments`` entries merge into the base entry with the
    same key (the CLI's merge by task_key). Duplicates *within* one definition are
    left alone so validation reports them."""
    out = dict(base)
    for name, value in override.items():
        key = KEYED_LISTS.get(name)
        if key and isinstance(base.get(name), list) and isinstance(value, list):
            items = list(base[name])
            for item in value:
                k = item.get(key) if isinstance(item, dict) else None
                at = next((i for i, b in enumerate(base[name])
                           if k is not None and isinstance(b, dict) and b.get(key) == k), None)
                if at is None:
                    items.append(copy.deepcopy(item))
                    continue
                merged = _merge(items[at], item)
                if name == "tasks" and isinstance(merged.get("depends_on"), list):
                    # sequences append, so a repeated dependency would appear twice
                    merged["depends_on"] = list({(d.get("task_key") if isinstance(d, dict) else i): d
                                                 for i, d in enumerate(merged["depends_on"])}.values())
                items[at] = merged
            out[name] = items
        else:
            out[name] = _merge(base[name], value) if name in base else copy.deepcopy(value)
    return out


# ---------------------------------------------------------------- bundle files

@dataclass
class _Bundle:
    path: Path
    root: Path
    tree: dict                                   # merged top level (targets not applied)
    job_files: dict[str, Path] = field(default_factory=dict)
    task_files: dict[tuple[str, str], Path] = field(default_factory=dict)


def _rebase_paths(doc: dict, file: Path, root: Path) -> None:
    """Rewrite relative task paths in ``doc`` to be relative to the bundle root."""
    if file.parent.resolve() == root.resolve():
        return
    jobs_maps = [((doc.get("resources") or {}).get("jobs") or {})]
    for tgt in (doc.get("targets") or {}).values():
        if isinstance(tgt, dict):
            jobs_maps.append(((tgt.get("resources") or {}).get("jobs") or {}))
    for jobs_map in jobs_maps:
        for job in jobs_map.values() if isinstance(jobs_map, dict) else ():
            for task in (job or {}).get("tasks") or [] if isinstance(job, dict) else ():
                for kind, attr in (("notebook_task", "notebook_path"), ("spark_python_task", "python_file")):
                    spec = task.get(kind) if isinstance(task, dict) else None
                    p = spec.get(attr) if isinstance(spec, dict) else None
                    if (isinstance(p, str) and p and not p.startswith(("/", "${"))
                            and str(spec.get("source", "")).upper() != "GIT"):
                        full = os.path.normpath(os.path.join(file.parent, p))
                        spec[attr] = Path(os.path.relpath(full, root)).as_posix()


def _record_origins(bundle: _Bundle, doc: dict, file: Path) -> None:
    def walk(jobs_map, declare: bool):
        for key, job in (jobs_map or {}).items():
            if declare:
                if key in bundle.job_files:
                    raise JobSpecError(file, f"resources.jobs.{key}",
                                       f"job '{key}' is already defined in {_display(bundle.job_files[key])}")
                bundle.job_files[key] = file
            bundle.job_files.setdefault(key, file)
            for t in (job or {}).get("tasks") or [] if isinstance(job, dict) else ():
                if isinstance(t, dict) and "task_key" in t:
                    bundle.task_files.setdefault((key, t["task_key"]), file)
    walk(((doc.get("resources") or {}).get("jobs")), declare=True)
    for tgt in (doc.get("targets") or {}).values():
        if isinstance(tgt, dict):
            walk(((tgt.get("resources") or {}).get("jobs")), declare=False)


def _check_keys(doc: dict, file: Path) -> None:
    for k in doc:
        if k not in BUNDLE_KEYS:
            raise JobSpecError(file, str(k), f"unknown top-level key '{k}'{_suggest(k, BUNDLE_KEYS)}")
    for name in ("resources", "targets", "variables", "workspace", "bundle"):
        if doc.get(name) is not None and not isinstance(doc[name], dict):
            raise JobSpecError(file, name, "expected a mapping")
    jobs_map = (doc.get("resources") or {}).get("jobs")
    if jobs_map is not None and not isinstance(jobs_map, dict):
        raise JobSpecError(file, "resources.jobs", "expected a mapping of job key -> job")
    for key, job in (jobs_map or {}).items():
        if not isinstance(job, dict):
            raise JobSpecError(file, f"resources.jobs.{key}", "expected a mapping")


def _load_bundle(path: Path, data: dict) -> _Bundle:
    root = path.parent
    if "environments" in data and "targets" not in data:  # deprecated spelling
        data = {**data, "targets": data.pop("environments")}
    docs = [(path, data)]
    includes = data.get("include") or []
    if not isinstance(includes, list):
        raise JobSpecError(path, "include", "expected a list of paths or globs")
    for i, pattern in enumerate(includes):
        matches = sorted(glob.glob(str(root / str(pattern)), recursive=True))
        if not matches and not glob.has_magic(str(pattern)):
            raise JobSpecError(path, f"include[{i}]", f"file not found: {pattern}")
        for m in matches:
            mp = Path(m)
            if mp.resolve() == path.resolve() or not mp.is_file():
                continue
            doc = _read(mp)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise JobSpecError(mp, "", "expected a mapping at the top of an included file")
            if "include" in doc:
                raise JobSpecError(mp, "include", "only the root databricks.yml may include files")
            docs.append((mp, doc))
    bundle = _Bundle(path=path, root=root, tree={})
    for file, doc in docs:
        _check_keys(doc, file)
        _rebase_paths(doc, file, root)
        _record_origins(bundle, doc, file)
        doc = {k: v for k, v in doc.items() if k != "include"}
        bundle.tree = _merge(bundle.tree, doc)
    return bundle


def _select_target(bundle: _Bundle, target: str | None, preferred: str | None = None) -> tuple[str | None, dict]:
    targets = bundle.tree.get("targets") or {}
    for name, tgt in targets.items():
        if tgt is not None and not isinstance(tgt, dict):
            raise JobSpecError(bundle.path, f"targets.{name}", "expected a mapping")
        for k in (tgt or {}):
            if k not in TARGET_KEYS:
                raise JobSpecError(bundle.path, f"targets.{name}.{k}",
                                   f"unknown target key '{k}'{_suggest(k, TARGET_KEYS)}")
    if target is not None:
        if target not in targets:
            raise JobSpecError(bundle.path, "targets",
                               f"unknown target '{target}' (targets: {_names(list(targets))})")
        return target, targets[target] or {}
    if preferred is not None and preferred in targets:
        return preferred, targets[preferred] or {}
    defaults = [n for n, t in targets.items() if (t or {}).get("default") is True]
    if len(defaults) > 1:
        raise JobSpecError(bundle.path, "targets",
                           f"more than one target has default: true ({', '.join(defaults)})")
    return (defaults[0], targets[defaults[0]] or {}) if defaults else (None, {})


def _apply_target(tree: dict, tgt: dict) -> dict:
    tree = {k: v for k, v in tree.items() if k not in ("targets", "environments")}
    for name in ("workspace", "bundle", "artifacts", "sync", "presets", "run_as"):
        if tgt.get(name) is not None:
            tree[name] = _merge(tree.get(name) or {}, tgt[name])
    t_res = tgt.get("resources") or {}
    if t_res:
        resources = dict(tree.get("resources") or {})
        for kind, items in t_res.items():
            if kind != "jobs" or not isinstance(items, dict):
                resources[kind] = _merge(resources.get(kind) or {}, items)
                continue
            jobs_map = dict(resources.get("jobs") or {})
            for key, job in items.items():
                base = jobs_map.get(key)
                jobs_map[key] = (_merge_job(base, job or {}) if isinstance(base, dict)
                                 else copy.deepcopy(job))
            resources["jobs"] = jobs_map
        tree["resources"] = resources
    return tree


# ---------------------------------------------------------------- ${…} substitution

class _Substitution:
    """Resolves ``${…}`` lazily, so variables, workspace paths and the job may refer
    to each other in any order; a cycle is an error."""

    def __init__(self, file: Path, values: dict[str, tuple[Any, str]], builtins: dict[str, Any],
                 declared: list[str]):
        self.file, self.values, self.builtins, self.declared = file, values, builtins, declared
        self.done: dict[str, Any] = {}
        self.stack: list[str] = []

    def var(self, name: str, file: Path, where: str) -> Any:
        if name in self.done:
            return self.done[name]
        if name not in self.values:
            if name in self.declared:
                raise JobSpecError(file, where, f"variable '{name}' has no value: give it a default, "
                                   f"set it in the target or pass --var {name}=…")
            raise JobSpecError(file, where, f"undefined variable ${{var.{name}}} "
                                            f"(defined: {_names(self.declared)})")
        if name in self.stack:
            raise JobSpecError(self.file, f"variables.{name}",
                               "variable cycle: " + " -> ".join(self.stack[self.stack.index(name):] + [name]))
        raw, defined_at = self.values[name]
        if isinstance(raw, dict) and "lookup" in raw:
            raise JobSpecError(file, where, f"variable '{name}' is a lookup, which needs a "
                                            "Databricks workspace; give it a value with --var")
        self.stack.append(name)
        try:
            value = self.apply(raw, self.file, defined_at)
        finally:
            self.stack.pop()
        self.done[name] = value
        return value

    def ref(self, ref: str, file: Path, where: str, whole: bool) -> Any:
        parts = ref.split(".")
        if parts[0] == "var" and len(parts) >= 2:
            value = self.var(parts[1], file, where)
            for p in parts[2:]:  # complex variables: ${var.cluster.spark_version}
                if not isinstance(value, dict) or p not in value:
                    raise JobSpecError(file, where, f"${{{ref}}}: no field '{p}' in variable '{parts[1]}'")
                value = value[p]
        elif ref in self.builtins:
            value = self.builtins[ref]
            if callable(value):  # computed on first use, e.g. workspace.root_path
                if ref in self.stack:
                    raise JobSpecError(self.file, ref, "reference cycle: "
                                       + " -> ".join(self.stack[self.stack.index(ref):] + [ref]))
                self.stack.append(ref)
                try:
                    value = value()
                finally:
                    self.stack.pop()
                self.builtins[ref] = value
        else:
            return None  # not ours (e.g. ${resources.jobs.x.id}): leave literal
        if not whole and isinstance(value, (dict, list)):
            raise JobSpecError(file, where, f"${{{ref}}} is a complex value and cannot be part of a string")
        return value

    def apply(self, obj: Any, file: Path, where: str) -> Any:
        if isinstance(obj, dict):
            return {k: self.apply(v, file, _join(where, f".{k}")) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.apply(v, file, f"{where}[{i}]") for i, v in enumerate(obj)]
        if not isinstance(obj, str) or "${" not in obj:
            return obj
        m = _REF.fullmatch(obj.strip())
        if m:  # the whole string is one reference: keep the value's type
            value = self.ref(m.group(1).strip(), file, where, whole=True)
            return obj if value is None else value

        def sub(m: re.Match) -> str:
            value = self.ref(m.group(1).strip(), file, where, whole=False)
            if value is None:
                return m.group(0)
            return value if isinstance(value, str) else json.dumps(value)

        return _REF.sub(sub, obj)


def _as_text(value: Any) -> Any:
    """Scalars as the strings they become in a job; complex variables stay structured."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


def _variable_values(bundle: _Bundle, tree: dict, tgt: dict, overrides: dict | None,
                     target: str | None) -> tuple[dict[str, tuple[Any, str]], list[str]]:
    defs = tree.get("variables") or {}
    declared = list(defs)
    for name in overrides or {}:
        if name not in defs:
            raise JobSpecError(bundle.path, "variables",
                               f"--var {name}: variable '{name}' is not defined (defined: {_names(declared)})")
    values: dict[str, tuple[Any, str]] = {}
    for name, d in defs.items():
        d_map = d if isinstance(d, dict) else {"default": d}
        tv = (tgt.get("variables") or {}).get(name, dataclasses.MISSING)
        if overrides and name in overrides:
            values[name] = (overrides[name], f"--var {name}")
        elif f"BUNDLE_VAR_{name}" in os.environ:
            values[name] = (os.environ[f"BUNDLE_VAR_{name}"], f"BUNDLE_VAR_{name}")
        elif tv is not dataclasses.MISSING:
            tv_val = tv.get("default", tv) if isinstance(tv, dict) and "lookup" not in tv else tv
            values[name] = (tv_val, f"targets.{target}.variables.{name}")
        elif "default" in d_map:
            values[name] = (d_map["default"], f"variables.{name}.default")
        elif "lookup" in d_map:
            values[name] = ({"lookup": d_map["lookup"]}, f"variables.{name}.lookup")
    for name in (tgt.get("variables") or {}):
        if name not in defs:
            raise JobSpecError(bundle.path, f"targets.{target}.variables.{name}",
                               f"variable '{name}' is not defined at the top level (defined: {_names(declared)})")
    return values, declared


def _builtins(bundle: _Bundle, tree: dict, target: str | None, subst_ref) -> dict[str, Any]:
    name = (tree.get("bundle") or {}).get("name")
    if not name:
        raise JobSpecError(bundle.path, "bundle.name", "missing: a bundle needs a name")
    user = current_user()
    ws = tree.get("workspace") or {}
    tname = target or "default"

    def root_path():
        raw = ws.get("root_path") or f"~/.bundle/{name}/{tname}"
        value = subst_ref().apply(raw, bundle.path, "workspace.root_path")
        return f"/Workspace/Users/{user}" + value[1:] if value.startswith("~") else value

    def under(key: str, default_leaf: str):
        def get():
            if ws.get(key):
                return subst_ref().apply(ws[key], bundle.path, f"workspace.{key}")
            return subst_ref().ref("workspace.root_path", bundle.path, f"workspace.{key}", True) + default_leaf
        return get

    out: dict[str, Any] = {
        "bundle.name": lambda: subst_ref().apply(name, bundle.path, "bundle.name"),
        "bundle.target": tname,
        "workspace.current_user.userName": user,
        "workspace.current_user.short_name": short_name(user),
        "workspace.root_path": root_path,
        "workspace.file_path": under("file_path", "/files"),
        "workspace.artifact_path": under("artifact_path", "/artifacts"),
        "workspace.state_path": under("state_path", "/state"),
    }
    if ws.get("host"):
        out["workspace.host"] = ws["host"]
    return out


# ---------------------------------------------------------------- dataclass walk

@cache
def _hints(tp) -> dict[str, Any]:
    return typing.get_type_hints(tp)


@cache
def _required(tp) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(tp)
                 if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def _clean(value: Any, tp: Any, path: str, file: Path) -> Any:
    """Check ``value`` against the SDK type ``tp``; return it with scalars coerced."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)

    def bad(expected: str):
        return JobSpecError(file, path, f"expected {expected}, got {type(value).__name__} {value!r}")

    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise bad("a mapping")
        hints, out = _hints(tp), {}
        for k, v in value.items():
            if k not in hints:
                raise JobSpecError(file, _join(path, f".{k}"),
                                   f"unknown field '{k}'{_suggest(k, hints)}")
            c = _clean(v, hints[k], _join(path, f".{k}"), file)
            if c is not None:
                out[k] = c
        for k in _required(tp):
            if k not in out:
                raise JobSpecError(file, path, f"missing required field '{k}'")
        return out
    if origin is list:
        if not isinstance(value, list):
            raise bad("a list")
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [c for i, v in enumerate(value)
                if (c := _clean(v, item_tp, f"{path}[{i}]", file)) is not None]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad("a mapping")
        _, val_tp = typing.get_args(tp) or (str, Any)
        return {str(k): _clean(v, val_tp, _join(path, f".{k}"), file) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        options = [e.value for e in tp]
        if value not in options:
            raise JobSpecError(file, path, f"invalid value {value!r}{_suggest(value, options)} "
                                           f"(expected one of: {', '.join(options)})")
        return value
    if tp is str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if tp is int:
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if tp is float:
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, (int, float)):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
    return value


# ---------------------------------------------------------------- local paths

def _find_file(written: str, base: Path, root: Path, file_path: str | None, exts) -> Path | None:
    """The local file a task path means (see load_job); None when there is none."""
    p = written
    if file_path and (p == file_path or p.startswith(file_path.rstrip("/") + "/")):
        candidates = [root / p[len(file_path.rstrip("/")) + 1:]]
    elif not p.startswith("/"):
        candidates = [base / p]
    else:  # a workspace path: the file itself if it exists here, else its longest local suffix
        parts = Path(p).parts[1:]
        candidates = [Path(p)] + [base / Path(*parts[i:]) for i in range(len(parts))]
    for c in candidates:
        if c.suffix.lower() in exts:
            if c.is_file():
                return c
            continue
        for cand in (c, *[c.with_name(c.name + e) for e in exts]):
            if cand.is_file():
                return cand
    return None


def _missing_file_problem(written: str, base: Path, exts, what: str) -> str:
    target = base / written if not written.startswith("/") else Path(written)
    hint = ""
    if target.parent.is_dir():
        siblings = [f.name for f in target.parent.iterdir() if f.suffix.lower() in exts]
        close = difflib.get_close_matches(target.name, siblings, n=1)
        if close:
            rel = Path(written).parent / close[0]
            hint = f" (did you mean '{rel.as_posix() if not written.startswith('./') else './' + rel.as_posix()}'?)"
    tried = "" if Path(written).suffix.lower() in exts else f" (also tried {', '.join(exts)})"
    if written.startswith("/"):
        hint += f" (no local file under {_display(base)} matches the end of this workspace path)"
    return f"{what} not found: {written}{tried}{hint}"


# ---------------------------------------------------------------- semantic checks

def _check_settings(s, prefix: str, file_of, default_file: Path) -> None:
    """Checks ``from_dict`` cannot do. ``file_of(task_key)`` names the declaring file."""
    tasks = s.tasks or []
    tpath = lambda i: _join(prefix, f".tasks[{i}]")  # noqa: E731
    tfile = lambda i: file_of(tasks[i].task_key)  # noqa: E731
    if s.timeout_seconds is not None and s.timeout_seconds < 0:
        raise JobSpecError(default_file, _join(prefix, ".timeout_seconds"),
                           f"must be >= 0 (0 = no timeout), got {s.timeout_seconds}")
    seen_params: set[str] = set()
    for i, p in enumerate(s.parameters or []):
        where = _join(prefix, f".parameters[{i}].name")
        try:
            validate_param_name(p.name)
        except ParamError as exc:
            raise JobSpecError(default_file, where, str(exc)) from None
        if p.name in seen_params:
            raise JobSpecError(default_file, where, f"duplicate job parameter '{p.name}'")
        seen_params.add(p.name)
    clusters = [c.job_cluster_key for c in s.job_clusters or []]
    for i, key in enumerate(clusters):
        if key in clusters[:i]:
            raise JobSpecError(default_file, _join(prefix, f".job_clusters[{i}].job_cluster_key"),
                               f"duplicate job cluster key '{key}'")
    try:
        dag.validate_graph(tasks)
    except dag.GraphError as exc:
        i = exc.task_index
        sub = {"duplicate": ".task_key", "missing": f".depends_on[{exc.dep_index}]",
               "cycle": ".depends_on"}[exc.kind]
        raise JobSpecError(tfile(i), tpath(i) + sub, str(exc)) from None
    by_key = {t.task_key: t for t in tasks}
    for i, t in enumerate(tasks):
        if not any(getattr(t, f.name) is not None for f in dataclasses.fields(t) if f.name.endswith("_task")):
            raise JobSpecError(tfile(i), tpath(i), f"task '{t.task_key}' has no task type "
                                                   "(e.g. notebook_task, spark_python_task, condition_task)")
        for j, d in enumerate(t.depends_on or []):
            if d.outcome is None:
                continue
            where = tpath(i) + f".depends_on[{j}].outcome"
            if d.outcome not in ("true", "false"):
                raise JobSpecError(tfile(i), where, f"outcome must be \"true\" or \"false\", got {d.outcome!r}")
            if by_key[d.task_key].condition_task is None:
                raise JobSpecError(tfile(i), where,
                                   f"outcome '{d.outcome}' needs a condition task upstream, "
                                   f"but '{d.task_key}' is not a condition_task")
        if t.max_retries is not None and t.max_retries < -1:
            raise JobSpecError(tfile(i), tpath(i) + ".max_retries",
                               f"must be -1 (retry forever), 0 or more, got {t.max_retries}")
        for name in ("min_retry_interval_millis", "timeout_seconds"):
            v = getattr(t, name)
            if v is not None and v < 0:
                raise JobSpecError(tfile(i), tpath(i) + f".{name}", f"must be >= 0, got {v}")
        if t.job_cluster_key and t.job_cluster_key not in clusters:
            raise JobSpecError(tfile(i), tpath(i) + ".job_cluster_key",
                               f"job cluster '{t.job_cluster_key}' is not defined "
                               f"(job_clusters: {_names(clusters)})")
        for k in ((t.notebook_task.base_parameters or {}) if t.notebook_task else {}):
            try:
                validate_param_name(k)
            except ParamError as exc:
                raise JobSpecError(tfile(i), tpath(i) + f".notebook_task.base_parameters.{k}",
                                   str(exc)) from None
    if s.schedule is not None:
        try:
            validate_quartz_cron(s.schedule.quartz_cron_expression)
        except ValueError as exc:
            raise JobSpecError(default_file, _join(prefix, ".schedule.quartz_cron_expression"),
                               f"bad Quartz cron: {exc}") from None


def _localise_paths(s, prefix: str, file_of, base: Path, root: Path,
                    file_path: str | None) -> dict[str, str]:
    """Make notebook / python file paths absolute and local; return root-relative ones."""
    rel: dict[str, str] = {}
    for i, t in enumerate(s.tasks or []):
        for kind, attr, exts, what in (
                ("notebook_task", "notebook_path", NOTEBOOK_EXTS, "notebook"),
                ("spark_python_task", "python_file", (".py",), "python file")):
            spec = getattr(t, kind)
            if spec is None or str(getattr(getattr(spec, "source", None), "value", "")).upper() == "GIT":
                continue
            if s.git_source is not None and getattr(spec, "source", None) is None:
                continue  # with git_source, paths are in the remote repository
            written = getattr(spec, attr)
            found = _find_file(written, base, root, file_path, exts)
            if found is None:
                raise JobSpecError(file_of(t.task_key), _join(prefix, f".tasks[{i}].{kind}.{attr}"),
                                   _missing_file_problem(written, base, exts, what))
            found = found.resolve()
            setattr(spec, attr, str(found))
            try:
                rel[t.task_key] = found.relative_to(root.resolve()).as_posix()
            except ValueError:
                rel[t.task_key] = Path(os.path.relpath(found, root.resolve())).as_posix()
    return rel


def _pause_for_development(job: dict) -> bool:
    paused = False
    for name in ("schedule", "trigger", "continuous"):
        block = job.get(name)
        if isinstance(block, dict) and block.get("pause_status") != "UNPAUSED":
            block["pause_status"] = "PAUSED"
            paused = True
    return paused


def _build(job: dict, prefix: str, file_of, default_file: Path):
    from databricks.sdk.service import jobs
    cleaned = _clean(job, jobs.JobSettings, prefix, default_file)
    settings = jobs.JobSettings.from_dict(cleaned)
    _check_settings(settings, prefix, file_of, default_file)
    return settings


# ---------------------------------------------------------------- public API

def _pick_job(keys: list[str], job_key: str | None, file: Path) -> str:
    if job_key is not None:
        if job_key not in keys:
            raise JobSpecError(file, "resources.jobs", f"no job '{job_key}'{_suggest(job_key, keys)} "
                                                       f"(jobs: {_names(keys)})")
        return job_key
    if not keys:
        raise JobSpecError(file, "resources.jobs", "no jobs defined")
    if len(keys) == 1:
        return keys[0]
    if DEFAULT_JOB_KEY in keys:
        return DEFAULT_JOB_KEY
    raise JobSpecError(file, "resources.jobs",
                       f"several jobs and none is '{DEFAULT_JOB_KEY}': pick one with job_key "
                       f"(jobs: {_names(keys)})")


def _open(path) -> tuple[Path, Any, str]:
    path = Path(path)
    if path.is_dir():
        path = path / "databricks.yml"
    data = _read(path)
    kind = _kind(data)
    if kind == "unknown":
        raise JobSpecError(path, "", "neither a bundle (no 'bundle' / 'resources.jobs') nor a "
                                     "Jobs API JSON (no 'settings' / 'tasks')")
    return path, data, kind


def _bundle_jobs(path: Path, data: dict, target: str | None, preferred: str | None = None):
    bundle = _load_bundle(path, data)
    tname, tgt = _select_target(bundle, target, preferred)
    tree = _apply_target(bundle.tree, tgt)
    jobs_map = (tree.get("resources") or {}).get("jobs") or {}
    return bundle, tname, tgt, tree, jobs_map


def list_jobs(path, target: str | None = None) -> list[str]:
    """The job keys a bundle defines (after includes and the target), or ``[name]`` for a JSON."""
    path, data, kind = _open(path)
    if kind != "bundle":
        settings = data["settings"] if kind == "job" else data
        return [settings.get("name") or path.stem]
    return list(_bundle_jobs(path, data, target)[4])


def load_job(path, *, target: str | None = None, job_key: str | None = None,
             variables: dict[str, Any] | None = None, preferred_target: str | None = None) -> LoadedJob:
    """Load, merge, substitute and validate one job; raise JobSpecError on any problem.

    ``path`` is a bundle YAML (or its directory), a ``databricks jobs get`` JSON
    or a bare JobSettings JSON. See the module docstring for the bundle rules.
    Job choice: ``job_key``; else the only job; else ``day7_medallion``; else an error.
    Target choice: ``target``; else ``preferred_target`` when the bundle (with its
    includes) has it; else the one with ``default: true``; else none.
    """
    path, data, kind = _open(path)
    if kind != "bundle":
        return _load_json(path, data, kind, job_key)
    bundle, tname, tgt, tree, jobs_map = _bundle_jobs(path, data, target, preferred_target)
    key = _pick_job(list(jobs_map), job_key, path)
    job_file = bundle.job_files.get(key, path)
    mode = tgt.get("mode")
    if mode is not None and mode not in MODES:
        raise JobSpecError(path, f"targets.{tname}.mode", f"invalid mode {mode!r} (expected one of: {', '.join(MODES)})")

    values, declared = _variable_values(bundle, tree, tgt, variables, tname)
    subst: _Substitution | None = None
    builtins = _builtins(bundle, tree, tname, lambda: subst)
    subst = _Substitution(path, values, builtins, declared)

    prefix = f"resources.jobs.{key}"
    file_of = lambda task_key: bundle.task_files.get((key, task_key), job_file)  # noqa: E731
    job = copy.deepcopy(jobs_map[key])
    tasks = job.pop("tasks", None)
    job = subst.apply(job, job_file, prefix)
    if tasks is not None:
        if not isinstance(tasks, list):
            raise JobSpecError(job_file, prefix + ".tasks", "expected a list of tasks")
        job["tasks"] = [subst.apply(t, file_of(t.get("task_key")) if isinstance(t, dict) else job_file,
                                    f"{prefix}.tasks[{i}]") for i, t in enumerate(tasks)]
    job.setdefault("name", key)
    paused = mode == "development" and _pause_for_development(job)
    raw = copy.deepcopy(job)
    for k in JOB_BUNDLE_ONLY_KEYS:
        job.pop(k, None)
    settings = _build(job, prefix, file_of, job_file)

    workspace = {k: v for k, v in subst.apply(tree.get("workspace") or {}, path, "workspace").items()}
    for k in ("root_path", "file_path", "artifact_path", "state_path"):
        workspace[k] = subst.ref(f"workspace.{k}", path, f"workspace.{k}", True)
    rel = _localise_paths(settings, prefix, file_of, bundle.root, bundle.root, workspace["file_path"])
    resolved_vars = {name: _as_text(subst.var(name, path, f"variables.{name}"))
                     for name in declared if name in values and not
                     (isinstance(values[name][0], dict) and "lookup" in values[name][0])}
    return LoadedJob(
        key=key, settings=settings, source=path.resolve(), root=bundle.root.resolve(),
        target=tname, mode=mode, bundle_name=subst.ref("bundle.name", path, "bundle.name", True),
        workspace=workspace, variables=resolved_vars, relative_paths=rel, raw=raw, paused=paused)


def _load_json(path: Path, data: dict, kind: str, job_key: str | None) -> LoadedJob:
    prefix = "settings" if kind == "job" else ""
    job = copy.deepcopy(data["settings"] if kind == "job" else data)
    key = job.get("name") or path.stem
    if job_key is not None and job_key != key:
        raise JobSpecError(path, _join(prefix, ".name"), f"no job '{job_key}' (jobs: {key})")
    raw = copy.deepcopy(job)
    settings = _build(job, prefix, lambda _k: path, path)
    root = path.parent.resolve()
    rel = _localise_paths(settings, prefix, lambda _k: path, root, root, None)
    return LoadedJob(key=key, settings=settings, source=path.resolve(), root=root, raw=raw,
                     relative_paths=rel)
