"""A session whose cluster stopped: in a notebook the error is its one sentence, not pyspark's frames.
(The real thing, a notebook attached to a cluster that `clusters stop` ends, is in
tests/jobs/local/compute/test_allpurpose.py.)"""
from __future__ import annotations

import subprocess
import sys
import textwrap

from runner_fixtures import REPO_ROOT


def test_cluster_gone_shows_as_one_sentence_in_ipython_and_the_cell_still_fails():
    code = """
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        # the kit's kernel setup (its own OSError handler) comes first, as in a kernel
        ip.run_cell("import course.runtime\\nfrom course.runtime.spark import ClusterGone, _brief_in_ipython\\n"
                    "_brief_in_ipython()")
        result = ip.run_cell("def deep():\\n    raise ClusterGone(\\"all-purpose cluster 'dev' does not answer\\")\\ndeep()")
        print("ERROR", type(result.error_in_exec).__name__)
        result = ip.run_cell("open('/Volumes/main/raw/x.csv')")
        print("ERROR", type(result.error_in_exec).__name__)
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=120, cwd=str(REPO_ROOT))
    text = out.stdout + out.stderr
    assert "ClusterGone: all-purpose cluster 'dev' does not answer" in text, text
    gone = text[:text.index("ERROR ClusterGone")]
    assert "deep()" not in gone and "Cell In" not in gone, gone       # no frames
    assert "ERROR ClusterGone" in text                              # the cell failed all the same
    assert "ERROR DatabricksPathError" in text and "is a Databricks path" in text   # the other handler still works
