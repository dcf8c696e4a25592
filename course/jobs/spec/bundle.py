"""Bundle files into one job map: ``include``, target selection and overrides, development mode.

Bundle semantics follow the Databricks CLI:

* ``include:`` globs (relative to the bundle root) are merged in; a job key
  defined in two files is an error. Relative paths in a task are relative to the
  file that declares them and are rewritten relative to the bundle root.
* Target overrides merge into the top level: mappings recursively, scalars
  replace, sequences append, and then ``tasks`` / ``job_clusters`` /
  ``parameters`` / ``environments`` entries with the same key are merged into one.
* ``mode: development`` pauses ``schedule``, ``trigger`` and ``continuous`` unless
  they say ``pause_status: UNPAUSED`` explicitly (CLI behaviour).
"""
from __future__ import annotations

import copy
import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.jobs.spec.errors import JobSpecError, display, names, suggest
from course.jobs.spec.pyresources import has_python, load_python_resources
from course.jobs.spec.reading import read

__all__ = ["Bundle", "MODES", "JOB_BUNDLE_ONLY_KEYS", "load_bundle", "select_target", "apply_target",
           "bundle_jobs", "pause_for_development"]

BUNDLE_KEYS = {"bundle", "include", "variables", "workspace", "targets", "environments",
               "resources", "artifacts", "sync", "permissions", "run_as", "presets",
               "experimental", "scripts", "python", "git"}
TARGET_KEYS = {"default", "mode", "bundle", "workspace", "variables", "resources", "artifacts",
               "sync", "permissions", "run_as", "presets", "git", "cluster_id", "compute_id"}
JOB_BUNDLE_ONLY_KEYS = {"permissions"}  # bundle resource fields that are not JobSettings
KEYED_LISTS = {"tasks": "task_key", "job_clusters": "job_cluster_key",
               "parameters": "name", "environments": "environment_key"}
MODES = ("development", "production")


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
    """A target's job override: like ``_merge``, but ``tasks`` / ``job_clusters`` /
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
class Bundle:
    """The root file and its includes merged into one tree, remembering who declared what."""

    path: Path
    root: Path
    tree: dict                                   # merged top level (targets not applied)
    job_files: dict[str, Path] = field(default_factory=dict)
    task_files: dict[tuple[str, str], Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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
            tasks = list((job or {}).get("tasks") or [] if isinstance(job, dict) else ())
            tasks += [t["for_each_task"]["task"] for t in tasks  # a for-each's nested task too
                      if isinstance(t, dict) and isinstance(t.get("for_each_task"), dict)
                      and isinstance(t["for_each_task"].get("task"), dict)]
            for task in tasks:
                for kind, attr in (("notebook_task", "notebook_path"), ("spark_python_task", "python_file"),
                                   ("sql_task", "file")):
                    spec = task.get(kind) if isinstance(task, dict) else None
                    if kind == "sql_task" and isinstance(spec, dict):
                        spec, attr = spec.get("file"), "path"
                    p = spec.get(attr) if isinstance(spec, dict) else None
                    if (isinstance(p, str) and p and not p.startswith(("/", "${"))
                            and str(spec.get("source", "")).upper() != "GIT"):
                        full = os.path.normpath(os.path.join(file.parent, p))
                        spec[attr] = Path(os.path.relpath(full, root)).as_posix()


def _record_origins(bundle: Bundle, doc: dict, file: Path) -> None:
    """Remember the file that declares each job and task, for errors that name it."""
    def walk(jobs_map, declare: bool):
        if not isinstance(jobs_map, dict):  # a wrong shape is reported by validation, with its path
            return
        for key, job in jobs_map.items():
            if declare:
                if key in bundle.job_files:
                    raise JobSpecError(file, f"resources.jobs.{key}",
                                       f"job '{key}' is already defined in {display(bundle.job_files[key])}")
                bundle.job_files[key] = file
            bundle.job_files.setdefault(key, file)
            for t in (job or {}).get("tasks") or [] if isinstance(job, dict) else ():
                if isinstance(t, dict) and isinstance(t.get("task_key"), str):
                    bundle.task_files.setdefault((key, t["task_key"]), file)
    resources = doc.get("resources")
    walk(resources.get("jobs") if isinstance(resources, dict) else None, declare=True)
    for tgt in (doc.get("targets") or {}).values():
        if isinstance(tgt, dict):
            found = tgt.get("resources")
            walk(found.get("jobs") if isinstance(found, dict) else None, declare=False)


def _unknown_keys(doc: dict, file: Path) -> list[str]:
    """Unknown top-level keys are dropped, as the CLI drops them: they usually hold YAML
    anchors (`x-common: &common …`). Like the CLI, warn about one that holds no anchor; one
    that reads like a misspelt key (`varibles`) is refused, as a typo should be."""
    text = file.read_text(encoding="utf-8") if file.is_file() else ""
    warnings = []
    for k in [k for k in doc if k not in BUNDLE_KEYS]:
        key = re.escape(str(k))
        # `key: &a …`, or its first entry holding the anchor (`key:` / `  - &a …` / `  name: &a …`)
        anchored = re.search(rf"^{key}\s*:\s*&|^{key}\s*:\s*(#.*)?\n\s+(-\s*|[^\s:#]+\s*:\s*)&", text, re.M)
        if not anchored:
            hint = suggest(str(k), BUNDLE_KEYS)
            if hint:
                raise JobSpecError(file, str(k), f"unknown top-level key '{k}'{hint}")
            warnings.append(f"Warning: unknown field: {k} (in {display(file)}; ignored)")
        del doc[k]
    return warnings


def _check_keys(doc: dict, file: Path) -> None:
    """The top-level shape of one bundle file (unknown keys already dropped)."""
    for name in ("resources", "targets", "variables", "workspace", "bundle"):
        if doc.get(name) is not None and not isinstance(doc[name], dict):
            raise JobSpecError(file, name, "expected a mapping")
    jobs_map = (doc.get("resources") or {}).get("jobs")
    if jobs_map is not None and not isinstance(jobs_map, dict):
        raise JobSpecError(file, "resources.jobs", "expected a mapping of job key -> job")
    for key, job in (jobs_map or {}).items():
        if not isinstance(job, dict):
            raise JobSpecError(file, f"resources.jobs.{key}", "expected a mapping")


def load_bundle(path: Path, data: dict) -> Bundle:
    """Merge the root file (already parsed as ``data``) with its includes."""
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
            doc = read(mp)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise JobSpecError(mp, "", "expected a mapping at the top of an included file")
            if "include" in doc:
                raise JobSpecError(mp, "include", "only the root databricks.yml may include files")
            docs.append((mp, doc))
    bundle = Bundle(path=path, root=root, tree={})
    for file, doc in docs:
        bundle.warnings += _unknown_keys(doc, file)
        _check_keys(doc, file)
        _rebase_paths(doc, file, root)
        _record_origins(bundle, doc, file)
        doc = {k: v for k, v in doc.items() if k != "include"}
        bundle.tree = _merge(bundle.tree, doc)
    return bundle


def select_target(bundle: Bundle, target: str | None, preferred: str | None = None) -> tuple[str | None, dict]:
    """(name, mapping) of the target: ``target``; else ``preferred`` if defined; else the default one."""
    targets = bundle.tree.get("targets") or {}
    for name, tgt in targets.items():
        if tgt is not None and not isinstance(tgt, dict):
            raise JobSpecError(bundle.path, f"targets.{name}", "expected a mapping")
        for k in (tgt or {}):
            if k not in TARGET_KEYS:
                raise JobSpecError(bundle.path, f"targets.{name}.{k}",
                                   f"unknown target key '{k}'{suggest(k, TARGET_KEYS)}")
    if target is not None:
        if target not in targets:
            raise JobSpecError(bundle.path, "targets",
                               f"unknown target '{target}' (targets: {names(list(targets))})")
        return target, targets[target] or {}
    if preferred is not None and preferred in targets:
        return preferred, targets[preferred] or {}
    defaults = [n for n, t in targets.items() if (t or {}).get("default") is True]
    if len(defaults) > 1:
        raise JobSpecError(bundle.path, "targets",
                           f"more than one target has default: true ({', '.join(defaults)})")
    return (defaults[0], targets[defaults[0]] or {}) if defaults else (None, {})


def apply_target(tree: dict, tgt: dict) -> dict:
    """The top level with the target's overrides merged in (and no ``targets``)."""
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


def _add_python_jobs(bundle: Bundle, target: str | None, tgt: dict) -> None:
    """Jobs defined in Python join the YAML ones (a YAML job of the same key stays as it is)."""
    resources, declared = load_python_resources(bundle.tree, target, tgt.get("variables") or {},
                                                bundle.root, bundle.path)
    known = ((bundle.tree.get("resources") or {}).get("jobs") or {})
    added = {k: v for k, v in (resources.get("jobs") or {}).items() if k not in known}
    for key, job in added.items():
        doc = {"resources": {"jobs": {key: job}}}
        file = declared.get(key, bundle.path)
        _rebase_paths(doc, file, bundle.root)
        _record_origins(bundle, doc, file)
    bundle.tree.setdefault("resources", {}).setdefault("jobs", {}).update(added)


def bundle_jobs(path: Path, data: dict, target: str | None, preferred: str | None = None):
    """(bundle, target name, target, tree with the target applied, its jobs map)."""
    bundle = load_bundle(path, data)
    tname, tgt = select_target(bundle, target, preferred)
    if has_python(bundle.tree):
        _add_python_jobs(bundle, tname, tgt)
    tree = apply_target(bundle.tree, tgt)
    jobs_map = (tree.get("resources") or {}).get("jobs") or {}
    return bundle, tname, tgt, tree, jobs_map


def pause_for_development(job: dict) -> bool:
    """Pause the job's schedule / trigger / continuous block in place; True if one was paused."""
    paused = False
    for name in ("schedule", "trigger", "continuous"):
        block = job.get(name)
        if isinstance(block, dict) and block.get("pause_status") != "UNPAUSED":
            block["pause_status"] = "PAUSED"
            paused = True
    return paused
