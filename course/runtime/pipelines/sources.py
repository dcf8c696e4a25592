"""What a pipeline's source files see, and how each file is registered.

* `spark` is the kit's session proxy (Unity Catalog names, `/Volumes/…` paths) whose
  `readStream` also takes Auto Loader's spelling: `format("cloudFiles")` with
  `cloudFiles.format` is Spark's file source of that format; `cloudFiles.inferColumnTypes`
  is `inferSchema`; the other `cloudFiles.*` options (schema location, hints, notifications…)
  have no local meaning and are skipped with one line each.
* `.py` files (and Python source notebooks) run as modules; `.sql` files go through
  `sqltext`; an `.ipynb` notebook's code cells are its source.
"""
from __future__ import annotations

import json
from pathlib import Path

from course.runtime.pipelines import dltapi
from course.runtime.spark import SparkProxy

_notes: set[str] = set()


def note(text: str) -> None:
    if text not in _notes:
        _notes.add(text)
        print(f"note: {text}", flush=True)


class _AutoLoaderReader:
    """A streaming reader that also understands Auto Loader's `cloudFiles` options."""

    def __init__(self, reader, cloud: bool = False):
        self._reader, self._cloud = reader, cloud

    def _wrap(self, reader, cloud=None):
        return _AutoLoaderReader(reader, self._cloud if cloud is None else cloud)

    def format(self, source):
        if str(source).lower() == "cloudfiles":
            return self._wrap(self._reader, True)
        return self._wrap(self._reader.format(source))

    def option(self, key, value):
        k = str(key).lower()
        if k == "cloudfiles.format":
            return self._wrap(self._reader.format(value))
        if k == "cloudfiles.infercolumntypes":
            return self._wrap(self._reader.option("inferSchema", value))
        if k.startswith("cloudfiles."):
            note(f"Auto Loader option {key} has no local meaning and is skipped")
            return self
        return self._wrap(self._reader.option(key, value))

    def options(self, **options):
        reader = self
        for k, v in options.items():
            reader = reader.option(k, v)
        return reader

    def load(self, *args, **kwargs):
        if self._cloud and "format" not in kwargs:
            raise dltapi.PipelineError("readStream.format('cloudFiles') needs .option('cloudFiles.format', …) "
                                       "(csv, json, parquet …)")
        return self._reader.load(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._reader, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            result = attr(*args, **kwargs)
            return self._wrap(result) if hasattr(result, "load") else result
        return call


class PipelineSpark:
    """`spark` inside pipeline source files."""

    def __init__(self):
        self._inner = SparkProxy()

    @property
    def readStream(self):  # noqa: N802 (Spark's name)
        if dltapi.state.batch:  # counting expectations: the same sources, read once as a batch
            return self._inner.read
        return _AutoLoaderReader(self._inner.readStream)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def file_source_reader(spark, source, streaming: bool):
    """The reader a `read_files('path', format => …, …)` call means."""
    options = dict(source.options)
    fmt = options.pop("format", None) or Path(source.path.rstrip("/*")).suffix.lstrip(".") or None
    if not fmt:
        raise dltapi.PipelineError(f"read_files('{source.path}'): say the format (format => 'csv')")
    infer = options.pop("inferColumnTypes", "true")
    for hint in ("schemaHints", "schemaEvolutionMode", "rescuedDataColumn", "includeExistingFiles"):
        if options.pop(hint, None) is not None:
            note(f"read_files option {hint} has no local meaning and is skipped")
    reader = (spark.readStream if streaming else spark.read).format(fmt)
    if fmt in ("csv", "json", "xml"):
        reader = reader.option("inferSchema", infer)
    for k, v in options.items():
        reader = reader.option(k, v)
    return reader.load(source.path)


def notebook_source(path: Path) -> tuple[str, str]:
    """(language, source) of an .ipynb notebook: its code cells, magic cells left out with a note."""
    nb = json.loads(path.read_text())
    language = (nb.get("metadata", {}).get("language_info", {}) or {}).get("name", "python")
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        text = "".join(cell.get("source", []))
        if text.lstrip().startswith("%"):
            first = text.lstrip().split()[0]
            if first in ("%sql", "%%sql") and language == "sql":
                text = text.lstrip()[len(first):]
            else:
                note(f"{path.name}: a {first} cell is not part of a pipeline and is skipped")
                continue
        cells.append(text)
    return ("sql" if language == "sql" else "python"), "\n\n".join(cells)


def source_of(path: Path) -> tuple[str, str]:
    """(language, source) of one library file."""
    if path.suffix == ".ipynb":
        return notebook_source(path)
    if path.suffix == ".sql":
        return "sql", path.read_text()
    if path.suffix == ".py":
        return "python", path.read_text()
    raise dltapi.PipelineError(f"{path}: a pipeline library must be a .py, .sql or .ipynb file")
