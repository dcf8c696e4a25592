"""A mapping file named by an environment variable (DAY7_WEBHOOKS, DAY7_CLUSTERS …).

JSON for .json files, YAML otherwise (JSON is YAML too). Every problem is one sentence
naming the variable or the file and line, raised as the caller's own error type.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping


def read_mapping_file(var: str, error: type[Exception], expected: str,
                      env: Mapping[str, str] | None = None) -> tuple[dict, Path | None]:
    """({key: value} as written, the file) from the file `var` names; ({}, None) when unset.
    `expected` says what the mapping holds, for the error about a file that is not one."""
    env = os.environ if env is None else env
    raw = (env.get(var) or "").strip()
    if not raw:
        return {}, None
    path = Path(raw).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{var}={raw}: cannot read the file: {exc.strerror or exc}") from None
    data = _parse(path, text, error)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of {expected}; got a {type(data).__name__}")
    return data, path


def _parse(path: Path, text: str, error: type[Exception]):
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    import yaml  # only when a YAML file is used

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise error(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
