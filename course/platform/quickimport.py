"""Keep a 1–2 s import out of the runner's start.

papermill and nbval import nbformat, which imports jsonschema, whose format checkers
import `rfc3987_syntax` when it is installed (jupyterlab's dependencies install it).
That module builds some 35 Earley parsers at import time: 1.2–1.6 s of CPU here
(python-jsonschema/jsonschema#1428). Only the `iri` and `iri-reference` formats
use it, and no notebook schema has them, so processes that validate notebooks
tell Python the module is absent; jsonschema then skips those two checkers.
Likewise `isoduration` (it imports `arrow`: ~50 ms measured at a load of ~16, on every
`runner.py` run): only the `duration` format uses it, which no notebook schema has either.
"""
from __future__ import annotations

import sys


def skip_iri_format_checker() -> None:
    """Call before nbformat is imported; harmless after (the checker is then loaded)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # None: `import` raises ImportError
    sys.modules.setdefault("isoduration", None)
