"""The shape of course/: small modules, one-way imports, no borrowed private names.

These are the restructure's rules (README, Architecture): a newcomer can trust that the
orchestrator never reaches into the teaching layer, that what runs inside a notebook
never imports the orchestrator, and that the pure model does no I/O of the kit's own.
Layers: platform <- runtime <- jobs <- teaching <- server <- cli.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[1] / "course"
MODULES = sorted(COURSE.rglob("*.py"))

# package prefix -> prefixes of course modules it must never import
FORBIDDEN = {
    "course.jobs": ("course.teaching", "course.server", "course.cli"),
    "course.runtime": ("course.jobs", "course.teaching", "course.server", "course.cli"),
    "course.platform": ("course.jobs", "course.teaching", "course.server", "course.cli", "course.runtime"),
    "course.jobs.model": ("course.jobs.spec", "course.jobs.local", "course.jobs.schedules", "course.jobs.notify",
                          "course.jobs.workspace", "course.runtime", "course.platform"),
    "course.teaching": ("course.server", "course.cli"),
    "course.server": ("course.cli",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(COURSE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import, top-level or not."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names], node.lineno))
    return found


def test_every_module_is_small():
    too_long = [f"{p.relative_to(COURSE.parent)}: {n} lines" for p in MODULES
                if (n := len(p.read_text().splitlines())) > 500]
    assert not too_long, "modules over 500 lines:\n" + "\n".join(too_long)


def test_every_class_is_small():
    too_long = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long.append(f"{path.relative_to(COURSE.parent)}:{node.lineno} {node.name}")
    assert not too_long, "classes over 300 lines: " + ", ".join(too_long)


def test_no_package_has_more_than_15_modules():
    crowded = [f"{d.relative_to(COURSE.parent)}: {n}" for d in [COURSE, *COURSE.rglob("*")]
               if d.is_dir() and (n := len([p for p in d.glob("*.py") if p.name != "__init__.py"])) > 15]
    assert not crowded, crowded


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(COURSE.parent)))
def test_imports_go_one_way(path):
    name = module_name(path)
    rules = [(pkg, banned) for pkg, banned in FORBIDDEN.items() if name == pkg or name.startswith(pkg + ".")]
    bad = []
    for imported, names, line in imports(path):
        targets = [imported] + [f"{imported}.{n}" for n in names]
        for pkg, banned in rules:
            if any(t == b or t.startswith(b + ".") for t in targets for b in banned):
                bad.append(f"line {line}: {name} imports {imported} ({pkg} must not import {', '.join(banned)})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(COURSE.parent)))
def test_no_module_borrows_another_modules_private_names(path):
    bad = []
    tree = ast.parse(path.read_text())
    course_aliases = set()
    for imported, names, line in imports(path):
        if not imported.startswith("course"):
            continue
        bad += [f"line {line}: from {imported} import {n}" for n in names
                if n.startswith("_") and not n.startswith("__")]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course"):
            course_aliases |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in course_aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            bad.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)
