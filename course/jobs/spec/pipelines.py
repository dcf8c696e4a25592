"""A bundle's `resources.pipelines`: checked and resolved for a `pipeline_task` to run.

Each pipeline is substituted like a job (``${var.*}`` …), its fields checked against
databricks-sdk's `CreatePipeline` (plus the bundle-only `permissions`), and its
`libraries` resolved to local paths: `file: {path}`, `notebook: {path}` (the extension
may be left out, as in a workspace) and `glob: {include}`, relative to the file that
declares the pipeline (``bundle.py`` rebases included files' paths to the root).
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from course.jobs.spec.errors import JobSpecError, suggest

BUNDLE_ONLY = {"permissions"}
NOTEBOOK_SUFFIXES = ("", ".py", ".sql", ".ipynb")


def _fields() -> set[str]:
    import inspect

    from databricks.sdk.service.pipelines import PipelineSpec, PipelinesAPI

    create = set(inspect.signature(PipelinesAPI.create).parameters) - {"self"}
    return {f.name for f in dataclasses.fields(PipelineSpec)} | create | BUNDLE_ONLY


def _local(root: Path, raw: Any, file: Path, where: str, notebook: bool = False) -> str:
    if not isinstance(raw, str) or not raw:
        raise JobSpecError(file, where, "expected a path")
    if raw.startswith(("/Workspace/", "/Users/", "/Repos/")):
        raise JobSpecError(file, where, f"{raw} is a workspace path: locally a pipeline runs the bundle's "
                                        "own files, give the path relative to the bundle")
    base = (root / raw).resolve()
    for suffix in NOTEBOOK_SUFFIXES if notebook else ("",):
        candidate = base.with_name(base.name + suffix) if suffix else base
        if candidate.is_file():
            return str(candidate)
    raise JobSpecError(file, where, f"file not found: {raw}")


def resolve_libraries(pipeline: dict, root: Path, file: Path, prefix: str) -> list[dict]:
    """The libraries with local absolute paths; a glob stays a pattern (expanded at run time)."""
    libraries = pipeline.get("libraries") or []
    if not isinstance(libraries, list):
        raise JobSpecError(file, prefix + ".libraries", "expected a list")
    out = []
    for i, lib in enumerate(libraries):
        where = f"{prefix}.libraries[{i}]"
        if not isinstance(lib, dict) or len(lib) != 1:
            raise JobSpecError(file, where, "expected one of file: {path}, notebook: {path}, glob: {include}")
        (kind, body), = lib.items()
        if kind in ("file", "notebook"):
            path = (body or {}).get("path") if isinstance(body, dict) else None
            out.append({kind: {"path": _local(root, path, file, f"{where}.{kind}.path", kind == "notebook")}})
        elif kind == "glob":
            include = (body or {}).get("include") if isinstance(body, dict) else None
            if not isinstance(include, str) or not include:
                raise JobSpecError(file, f"{where}.glob.include", "expected a path or pattern")
            out.append({"glob": {"include": str((root / include).resolve()) if not include.startswith("/")
                                 else include}})
        elif kind in ("jar", "maven", "whl"):
            raise JobSpecError(file, f"{where}.{kind}", f"{kind} libraries in a pipeline cannot run locally "
                                                         "(Spark Declarative Pipelines runs SQL and Python files)")
        else:
            raise JobSpecError(file, f"{where}.{kind}",
                               f"unknown library kind '{kind}'{suggest(kind, ['file', 'notebook', 'glob'])}")
    return out


def load_pipelines(tree: dict, subst, root: Path, file: Path) -> dict[str, dict]:
    """Pipeline key -> its definition, substituted, checked and with local library paths."""
    found = (tree.get("resources") or {}).get("pipelines") or {}
    if not isinstance(found, dict):
        raise JobSpecError(file, "resources.pipelines", "expected a mapping of pipeline key -> pipeline")
    known = _fields()
    out = {}
    for key, raw in found.items():
        prefix = f"resources.pipelines.{key}"
        if not isinstance(raw, dict):
            raise JobSpecError(file, prefix, "expected a mapping")
        pipeline = subst.apply(copy.deepcopy(raw), file, prefix)
        for name in pipeline:
            if name not in known:
                raise JobSpecError(file, f"{prefix}.{name}", f"unknown pipeline field '{name}'{suggest(name, known)}")
        for name in ("catalog", "schema", "target", "name"):
            if pipeline.get(name) is not None and not isinstance(pipeline[name], str):
                raise JobSpecError(file, f"{prefix}.{name}", "expected a string")
        conf = pipeline.get("configuration") or {}
        if not isinstance(conf, dict):
            raise JobSpecError(file, f"{prefix}.configuration", "expected a mapping of key -> value")
        pipeline["configuration"] = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()}
        pipeline["libraries"] = resolve_libraries(pipeline, root, file, prefix)
        if pipeline.get("root_path"):
            pipeline["root_path"] = str((root / pipeline["root_path"]).resolve())
        pipeline.setdefault("name", key)
        out[key] = pipeline
    return out
