"""``${…}`` substitution: ``${var.x}``, ``${bundle.*}`` and ``${workspace.*}``.

Variable values: ``variables=`` argument > ``BUNDLE_VAR_<name>`` env > target
``variables`` > ``default``. ``${var.x}``, ``${bundle.name}``, ``${bundle.target}``,
``${workspace.root_path|file_path|artifact_path|state_path|host}`` and
``${workspace.current_user.userName|short_name}`` are substituted, and
``${resources.<kind>.<key>.<field>}`` (see `Substitution.resource`); ``{{…}}`` always
stays for run time.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

from course.jobs.spec.bundle import Bundle
from course.jobs.spec.errors import JobSpecError, join, names
from course.platform.user import short_name

__all__ = ["Substitution", "variable_values", "builtin_refs", "as_text"]

_REF = re.compile(r"\$\{([^}]*)\}")


class Substitution:
    """Resolves ``${…}`` lazily, so variables, workspace paths and the job may refer
    to each other in any order; a cycle is an error."""

    def __init__(self, file: Path, values: dict[str, tuple[Any, str]], builtins: dict[str, Any],
                 declared: list[str], resources: dict | None = None, job_id=None):
        self.file, self.values, self.builtins, self.declared = file, values, builtins, declared
        self.resources = resources or {}
        self.job_id = job_id  # (job key, its name) -> the kit's id; None: ${resources.jobs.x.id} stays literal
        self.done: dict[str, Any] = {}
        self.stack: list[str] = []

    def var(self, name: str, file: Path, where: str) -> Any:
        """The value of ``${var.<name>}``, substituted itself."""
        if name in self.done:
            return self.done[name]
        if name not in self.values:
            if name in self.declared:
                raise JobSpecError(file, where, f"variable '{name}' has no value: give it a default, "
                                   f"set it in the target or pass --var {name}=…")
            raise JobSpecError(file, where, f"undefined variable ${{var.{name}}} "
                                            f"(defined: {names(self.declared)})")
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
        """The value of ``${<ref>}``; None when it is not ours to substitute."""
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
        elif parts[0] == "resources":
            value = self.resource(parts, ref, file, where)
            if value is None:
                return None
        else:
            return None  # not ours: leave literal
        if not whole and isinstance(value, (dict, list)):
            raise JobSpecError(file, where, f"${{{ref}}} is a complex value and cannot be part of a string")
        return value

    def resource(self, parts: list[str], ref: str, file: Path, where: str) -> Any:
        """``${resources.<kind>.<key>.<field>}``: a field the resource defines (substituted),
        or its id. Ids are the kit's own: a job's is its id in the run history (registered
        when first referred to, as `bundle deploy` creates every job); a pipeline's is its
        resource key; a schema's is ``catalog.schema``, a volume's ``catalog.schema.volume``
        (their full names, as Databricks' ids are). Anything else is an error."""
        if len(parts) < 4:
            raise JobSpecError(file, where, f"${{{ref}}}: expected ${{resources.<kind>.<key>.<field>}}")
        kind, key, field = parts[1], parts[2], parts[3:]
        defined = self.resources.get(kind) if isinstance(self.resources.get(kind), dict) else {}
        if key not in defined:
            raise JobSpecError(file, where, f"${{{ref}}}: no {kind} '{key}' in this bundle's resources "
                                            f"({kind}: {names(list(defined))})")
        raw = defined[key] or {}
        field_of = lambda name: self.apply(raw.get(name), file, f"resources.{kind}.{key}.{name}")  # noqa: E731
        if field == ["id"] and "id" not in raw:  # only the fields it needs: a job may name its own id
            if kind in ("jobs", "clusters") and self.job_id is None:
                return None  # not running here: deploy creates the resource and puts its id in
            if kind == "jobs":
                return self.job_id(key, field_of("name") or key)
            if kind == "schemas":
                return f"{field_of('catalog_name') or 'workspace'}.{field_of('name') or key}"
            if kind == "volumes":
                return f"{field_of('catalog_name')}.{field_of('schema_name')}.{field_of('name') or key}"
            return key
        value: Any = raw
        for name in field:
            if not isinstance(value, dict) or name not in value:
                raise JobSpecError(file, where, f"${{{ref}}}: {kind} '{key}' has no field '{name}' locally "
                                                "(a field it does not define, or one only a workspace knows)")
            value = value[name]
        value = self.apply(value, file, f"resources.{kind}.{key}.{'.'.join(field)}")
        return value

    def apply(self, obj: Any, file: Path, where: str) -> Any:
        """``obj`` with every ``${…}`` we know substituted (``where`` is its field path)."""
        if isinstance(obj, dict):
            return {k: self.apply(v, file, join(where, f".{k}")) for k, v in obj.items()}
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


def as_text(value: Any) -> Any:
    """Scalars as the strings they become in a job; complex variables stay structured."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


def variable_values(bundle: Bundle, tree: dict, tgt: dict, overrides: dict | None,
                     target: str | None) -> tuple[dict[str, tuple[Any, str]], list[str]]:
    """({name: (raw value, where it was set)}, declared names), by the precedence above."""
    defs = tree.get("variables") or {}
    declared = list(defs)
    for name in overrides or {}:
        if name not in defs:
            raise JobSpecError(bundle.path, "variables",
                               f"--var {name}: variable '{name}' is not defined (defined: {names(declared)})")
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
                               f"variable '{name}' is not defined at the top level (defined: {names(declared)})")
    return values, declared


def builtin_refs(bundle: Bundle, tree: dict, target: str | None, user: str, subst_ref) -> dict[str, Any]:
    """``${bundle.*}`` and ``${workspace.*}`` values; paths are computed on first use
    (through ``subst_ref()``, the Substitution) because they may refer to variables."""
    name = (tree.get("bundle") or {}).get("name")
    if not name:
        raise JobSpecError(bundle.path, "bundle.name", "missing: a bundle needs a name")
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
