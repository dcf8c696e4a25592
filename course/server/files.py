"""The local workspace's files: a folder of the state folder, `<state>/workspace/`, is `/`.

What the Workspace API sees, and how each kind of object sits on disk:

    DIRECTORY  a folder
    NOTEBOOK   `<name>.ipynb` (imported as JUPYTER), or a source notebook `<name>.py|.sql|.scala|.r`
               whose first line is `# Databricks notebook source` (imported as SOURCE); its
               workspace path has no extension, as on Databricks
    FILE       any other file, its path with its extension

`/Workspace/Users/…` and `/Users/…` name the same object, as on Databricks. The runner
finds a job's notebooks here through the job file in the workspace root (see jobstore).
Names starting with `.job-` in the root are the API's job files, never listed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from course.server.errors import ApiError, already_exists, invalid, not_found

SOURCE_EXT = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}
EXT_LANGUAGE = {v: k for k, v in SOURCE_EXT.items()}
HEADER = {".py": "# Databricks notebook source", ".sql": "-- Databricks notebook source",
          ".scala": "// Databricks notebook source", ".r": "# Databricks notebook source"}
COMMENT = {".py": "#", ".sql": "--", ".scala": "//", ".r": "#"}
NOTEBOOK_EXTS = (".ipynb", *SOURCE_EXT.values())


@dataclass(frozen=True)
class Entry:
    """One workspace object: its workspace path, kind, file on disk and language."""

    path: str               # canonical workspace path, e.g. /Users/me/day7/bronze
    object_type: str        # DIRECTORY, NOTEBOOK, FILE
    local: Path
    language: str | None = None

    def info(self) -> dict:
        """The Workspace API's ObjectInfo."""
        st = self.local.stat()
        out = {"object_type": self.object_type, "path": self.path,
               "object_id": int.from_bytes(hashlib.blake2b(self.path.encode(), digest_size=6).digest(), "big"),
               "modified_at": int(st.st_mtime * 1000), "created_at": int(st.st_ctime * 1000)}
        if self.language:
            out["language"] = self.language
        if self.object_type == "FILE":
            out["size"] = st.st_size
        return out


def canonical(path) -> str:
    """A workspace path without `/Workspace`, normalised; 400 unless absolute and free of `..`."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid(f"Path ({path}) must be an absolute path starting with '/'.")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise invalid(f"Path ({path}) must not contain '..'.")
    if parts[:1] == ["Workspace"]:
        parts = parts[1:]
    return "/" + "/".join(parts)


def source_header(local: Path) -> bool:
    header = HEADER.get(local.suffix.lower())
    if header is None or not local.is_file():
        return False
    with local.open(encoding="utf-8", errors="replace") as f:
        return f.readline().strip() == header


class WorkspaceFiles:
    """The workspace tree under `root`; every method takes workspace paths and raises ApiError."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def local(self, path: str) -> Path:
        return self.root.joinpath(*PurePosixPath(canonical(path)).parts[1:])

    # ------------------------------------------------------------ finding

    def find(self, path: str) -> Entry | None:
        """The object at `path`: a folder, a file of that exact name, or a notebook with an extension."""
        path = canonical(path)
        local = self.local(path)
        if local.is_dir():
            return Entry(path, "DIRECTORY", local)
        if local.is_file() and not self.hidden(local):
            if local.suffix.lower() == ".ipynb" or source_header(local):
                return None  # a notebook's file: the notebook is named without the extension
            return Entry(path, "FILE", local)
        for ext in NOTEBOOK_EXTS:
            candidate = local.with_name(local.name + ext)
            if ext == ".ipynb" and candidate.is_file():
                return Entry(path, "NOTEBOOK", candidate, "PYTHON")
            if ext != ".ipynb" and source_header(candidate):
                return Entry(path, "NOTEBOOK", candidate, EXT_LANGUAGE[ext])
        return None

    def hidden(self, local: Path) -> bool:
        return local.parent == self.root and local.name.startswith(".job-")

    def entry(self, path: str) -> Entry:
        found = self.find(path)
        if found is None:
            raise not_found(f"Path ({path}) doesn't exist.")
        return found

    def children(self, path: str) -> list[Entry]:
        """The objects directly in folder `path` (404 if it does not exist, 400 if not a folder)."""
        folder = self.entry(path)
        if folder.object_type != "DIRECTORY":
            return [folder]  # Databricks lists a notebook or file as itself
        out = []
        for child in sorted(folder.local.iterdir()):
            if self.hidden(child) or child.name.endswith(".tmp"):
                continue
            name = child.name
            if child.is_file() and (child.suffix.lower() == ".ipynb" or source_header(child)):
                name = child.stem
            found = self.find(f"{folder.path.rstrip('/')}/{name}")
            if found is not None and found.local == child:
                out.append(found)
        return out

    # ------------------------------------------------------------ changing

    def mkdirs(self, path: str) -> None:
        """Create the folder and its parents; 400 RESOURCE_ALREADY_EXISTS when a notebook or file is in the way."""
        path = canonical(path)
        parts = PurePosixPath(path).parts[1:]
        for i in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:i])
            found = self.find(sub)
            if found is not None and found.object_type != "DIRECTORY":
                raise already_exists(f"Cannot create directory {sub} because a {found.object_type.lower()} "
                                     "exists there.")
        self.local(path).mkdir(parents=True, exist_ok=True)

    def import_(self, path: str, content_b64: str, fmt: str, language: str | None, overwrite: bool) -> None:
        """Workspace import: SOURCE / JUPYTER / AUTO / RAW content (base64) at `path`."""
        path = canonical(path)
        try:
            content = base64.b64decode(content_b64 or "", validate=True)
        except ValueError:
            raise invalid("content must be base64 encoded") from None
        fmt = (fmt or "SOURCE").upper()
        if fmt == "AUTO":
            fmt, language = self._detect(path, content, language)
        if fmt == "JUPYTER":
            try:
                nb = json.loads(content)
                assert isinstance(nb, dict) and isinstance(nb.get("cells"), list)
            except (ValueError, AssertionError):
                raise invalid("Invalid notebook: the content is not a Jupyter notebook (.ipynb) document.") from None
            kind, ext, data = "NOTEBOOK", ".ipynb", content
        elif fmt == "SOURCE":
            language = (language or "").upper() or EXT_LANGUAGE.get(PurePosixPath(path).suffix.lower())
            if language not in SOURCE_EXT:
                raise invalid("The language field is required when importing a notebook in SOURCE format "
                              "(PYTHON, SQL, SCALA or R).")
            ext = SOURCE_EXT[language]
            text = content.decode("utf-8", errors="replace")
            if text.splitlines()[:1] != [HEADER[ext]]:  # a plain script becomes a one-cell notebook, as on Databricks
                text = f"{HEADER[ext]}\n{text}"
            kind, data = "NOTEBOOK", text.encode("utf-8")
        elif fmt == "RAW":
            kind, ext, data = "FILE", "", content
        else:
            raise invalid(f"Import format {fmt} is not supported by the local workspace (use SOURCE, JUPYTER, "
                          "AUTO or RAW).")
        if kind == "NOTEBOOK":
            for e in NOTEBOOK_EXTS:  # Databricks drops a notebook's extension
                if path.lower().endswith(e):
                    path = path[: -len(e)]
        self._write(path, kind, ext, data, overwrite)

    @staticmethod
    def _detect(path: str, content: bytes, language: str | None) -> tuple[str, str | None]:
        """AUTO: a notebook when the content says so (JSON notebook, source header), else a file."""
        head = content.lstrip()[:200]
        if head.startswith(b"{") and b'"cells"' in content[:100_000]:
            return "JUPYTER", None
        for ext, header in HEADER.items():
            if head.startswith(header.encode()):
                lang = EXT_LANGUAGE.get(PurePosixPath(path).suffix.lower()) or EXT_LANGUAGE[ext]
                return "SOURCE", language or lang
        return "RAW", None

    def _write(self, path: str, kind: str, ext: str, data: bytes, overwrite: bool) -> None:
        parent = str(PurePosixPath(path).parent)
        found_parent = self.find(parent)
        if found_parent is None or found_parent.object_type != "DIRECTORY":
            raise not_found(f"The parent folder ({parent}) does not exist.")
        existing = self.find(path)
        if existing is not None:
            if existing.object_type == "DIRECTORY":
                raise already_exists(f"{path} already exists and is a directory.")
            if not overwrite:
                raise already_exists(f"{path} already exists.")
        target = self.local(path)
        target = target.with_name(target.name + ext) if kind == "NOTEBOOK" else target
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        if existing is not None and existing.local != target:
            existing.local.unlink(missing_ok=True)  # a notebook re-imported in another format

    def delete(self, path: str, recursive: bool) -> None:
        """Delete an object; a folder that is not empty only with `recursive`."""
        found = self.entry(path)
        if found.path == "/":
            raise invalid("The workspace root cannot be deleted.")
        if found.object_type == "DIRECTORY":
            if any(True for c in found.local.iterdir()) and not recursive:
                raise ApiError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({found.path}) is not empty.")
            shutil.rmtree(found.local)
        else:
            found.local.unlink()

    # ------------------------------------------------------------ export

    def export(self, path: str, fmt: str | None) -> tuple[bytes, str]:
        """(content, file_type) of a notebook or file in `fmt` (SOURCE, JUPYTER, AUTO, RAW)."""
        found = self.entry(path)
        fmt = (fmt or "SOURCE").upper()
        if found.object_type == "DIRECTORY":
            raise invalid(f"{found.path} is a directory; the local workspace exports one object at a time.")
        if found.object_type == "FILE":
            return found.local.read_bytes(), PurePosixPath(found.path).suffix.lstrip(".")
        is_jupyter = found.local.suffix.lower() == ".ipynb"
        if fmt in ("JUPYTER",) or (fmt == "AUTO" and is_jupyter):
            if is_jupyter:
                return found.local.read_bytes(), "ipynb"
            from course.runtime import sourcenb
            return json.dumps(sourcenb.read(found.local), indent=1).encode(), "ipynb"
        if fmt in ("SOURCE", "AUTO", "RAW"):
            if not is_jupyter:
                return found.local.read_bytes(), found.local.suffix.lstrip(".")
            return notebook_as_source(json.loads(found.local.read_bytes())).encode(), "py"
        raise invalid(f"Export format {fmt} is not supported by the local workspace (SOURCE, JUPYTER, AUTO).")


def notebook_as_source(nb: dict) -> str:
    """A Jupyter notebook as a Databricks Python source notebook (markdown as `# MAGIC %md`)."""
    cells = []
    for cell in nb.get("cells") or []:
        text = "".join(cell.get("source") or [])
        if cell.get("cell_type") == "markdown":
            text = "\n".join("# MAGIC " + line if line else "# MAGIC" for line in ("%md\n" + text).splitlines())
        elif text.startswith("%%"):
            text = "\n".join("# MAGIC " + line if line else "# MAGIC" for line in ("%" + text[2:]).splitlines())
        cells.append(text)
    return HEADER[".py"] + "\n" + "\n\n# COMMAND ----------\n\n".join(cells) + "\n"
