"""Databricks source notebooks in JupyterLab: read → write is byte-identical, and `make lab`'s
contents manager serves them as notebooks and saves them back as source, over the real REST API."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from argparse import Namespace
from pathlib import Path

import pytest

from course.runtime import sourcenb
from course.runtime.dbx import sourcewriter
from course.teaching import lab

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "notebooks" / "databricks"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".py", ".sql") and sourcenb.is_source_notebook(p))

# Hand-made, in the styles people write on Databricks: titles, %md with blank lines and inline
# headings, %sql/%run/%pip cells, trailing spaces, a separator with a trailing space, an empty
# cell, CRLF line endings, no final newline.
EDGE_CASES = {
    "titled.py": (
        "# Databricks notebook source\n"
        "# DBTITLE 1,Load the raw orders\n"
        "df = spark.read.csv('/Volumes/workspace/raw/landing/orders.csv', header=True)   \n"
        "display(df)\n\n"
        "# COMMAND ----------\n\n"
        "# MAGIC %md\n# MAGIC ## Clean up\n# MAGIC\n# MAGIC Drop the cancelled orders.  \n# MAGIC \n"
        "# MAGIC - keep `shipped`\n\n"
        "# COMMAND ----------\n\n"
        "# MAGIC %md # Inline heading\n\n"
        "# COMMAND ---------- \n\n"
        "# DBTITLE 1,Row count by status\n"
        "# MAGIC %sql\n# MAGIC SELECT status, count(*) AS n\n# MAGIC FROM workspace.day7.orders\n# MAGIC GROUP BY status\n\n"
        "# COMMAND ----------\n\n"
        "# COMMAND ----------\n\n"
        "# MAGIC %run ./includes/helpers $env=\"dev\"\n\n"
        "# COMMAND ----------\n\n"
        "# MAGIC %pip install tabulate\n\n"
        "# COMMAND ----------\n"
        "dbutils.notebook.exit('ok')"
    ),
    "windows.py": (
        "# Databricks notebook source\r\nx = 1\r\n\r\n# COMMAND ----------\r\n\r\n"
        "# MAGIC %md\r\n# MAGIC Hello\r\n\r\n\r\n"
    ),
    "report.sql": (
        "-- Databricks notebook source\n"
        "-- MAGIC %md\n-- MAGIC # Daily report\n-- MAGIC\n-- MAGIC Uses the `orders` table.\n\n"
        "-- COMMAND ----------\n\n"
        "-- DBTITLE 1,Totals\n"
        "SELECT customer, sum(amount) AS total  \nFROM workspace.day7.orders\nGROUP BY customer;\n\n"
        "-- COMMAND ----------\n\n"
        "-- MAGIC %python\n-- MAGIC print(spark.table('workspace.day7.orders').count())\n"
    ),
}


def _round_trip(path: Path) -> bytes:
    nb = sourcenb.read(path, layout=True)
    return sourcewriter.write(nb, sourcewriter.language_of(path.suffix)).encode("utf-8")


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_source_notebooks_round_trip_byte_identical(path):
    assert _round_trip(path) == path.read_bytes()


@pytest.fixture
def edge_files(tmp_path):
    for name, text in EDGE_CASES.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    return tmp_path


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_round_trip_byte_identical(edge_files, name):
    path = edge_files / name
    assert _round_trip(path) == path.read_bytes()


def test_an_edited_cell_is_written_as_source_and_the_rest_keeps_its_text(edge_files):
    path = edge_files / "titled.py"
    nb = sourcenb.read(path, layout=True)
    sql = next(c for c in nb["cells"] if c["source"].startswith("%%sql"))
    sql["source"] = sql["source"].replace("GROUP BY status", "WHERE amount > 10\nGROUP BY status")
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "## Done\n\nAll checks ran."})
    text = sourcewriter.write(nb, "python")
    assert "# MAGIC WHERE amount > 10\n# MAGIC GROUP BY status" in text
    assert text.endswith("# COMMAND ----------\n\n# MAGIC %md\n# MAGIC ## Done\n# MAGIC\n# MAGIC All checks ran.\n")
    assert "# MAGIC Drop the cancelled orders.  \n# MAGIC \n" in text  # untouched cell: trailing spaces kept
    path.write_text(text)
    again = sourcenb.read(path)
    assert [c["source"] for c in again["cells"]] == [c["source"] for c in nb["cells"]]
    assert again["cells"][3]["metadata"] == {"title": "Row count by status"}


# --- the contents manager, through a real Jupyter Server's REST API --------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("labroot")
    runtime = tmp_path_factory.mktemp("labruntime")
    port, token = _free_port(), "day7-source-token"
    jupyter = Path(sys.executable).with_name("jupyter")
    log = (runtime / "server.log").open("w")
    proc = subprocess.Popen(
        [str(jupyter), "server", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--ServerApp.contents_manager_class={lab.CONTENTS_MANAGER}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(runtime)))
    base = f"http://127.0.0.1:{port}/api/contents"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("jupyter server did not start: " + (runtime / "server.log").read_text()[-2000:])
            time.sleep(0.3)
    yield root, base, token
    proc.terminate()
    proc.wait(15)
    log.close()


def _call(method: str, url: str, token: str, body: dict | None = None):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_lab_uses_the_source_notebook_contents_manager():
    args = Namespace(port=None, ip=None, token=None, no_browser=True, notebook=None)
    assert f"--ServerApp.contents_manager_class={lab.CONTENTS_MANAGER}" in lab.command(args)


def test_rest_api_serves_a_source_file_as_a_notebook_and_saves_it_back(server):
    root, base, token = server
    for path in CORPUS_FILES:
        shutil.copy(path, root / path.name)
    for name, text in EDGE_CASES.items():
        (root / name).write_bytes(text.encode("utf-8"))
    (root / "plain_script.py").write_text("print('not a notebook')\n")

    for name in [p.name for p in CORPUS_FILES] + sorted(EDGE_CASES):
        original = (root / name).read_bytes()
        status, model = _call("GET", f"{base}/{name}?type=notebook", token)
        assert status == 200 and model["type"] == "notebook", (name, model)
        assert model["content"]["cells"], name
        status, saved = _call("PUT", f"{base}/{name}", token,
                              {"type": "notebook", "format": "json", "content": model["content"]})
        assert status == 200 and saved["type"] == "notebook", (name, saved)
        assert (root / name).read_bytes() == original, name

    # Without a type (the file browser's listing) it is a notebook; the text editor still gets text.
    status, listing = _call("GET", f"{base}/", token)
    types = {item["name"]: item["type"] for item in listing["content"]}
    assert types["titled.py"] == "notebook" and types["report.sql"] == "notebook"
    assert types["plain_script.py"] == "file"
    status, as_file = _call("GET", f"{base}/report.sql?type=file&format=text", token)
    assert as_file["type"] == "file" and as_file["content"] == EDGE_CASES["report.sql"]
    status, plain = _call("GET", f"{base}/plain_script.py?type=notebook", token)
    assert status == 400  # a plain script is not JSON and not a source notebook: the default error


def test_rest_api_put_with_an_edited_cell_writes_source_format(server):
    root, base, token = server
    (root / "edit_me.sql").write_text(EDGE_CASES["report.sql"])
    status, model = _call("GET", f"{base}/edit_me.sql?type=notebook", token)
    cells = model["content"]["cells"]
    totals = next(c for c in cells if c["metadata"].get("title") == "Totals")
    totals["source"] = totals["source"].replace("GROUP BY customer;", "GROUP BY customer\nORDER BY total DESC;")
    status, _ = _call("PUT", f"{base}/edit_me.sql", token,
                      {"type": "notebook", "format": "json", "content": model["content"]})
    assert status == 200
    text = (root / "edit_me.sql").read_text()
    assert text.startswith("-- Databricks notebook source\n")
    assert "-- DBTITLE 1,Totals\nSELECT customer, sum(amount) AS total  \n" in text
    assert "GROUP BY customer\nORDER BY total DESC;\n" in text
    assert "-- MAGIC %md\n-- MAGIC # Daily report\n" in text  # untouched cells as they were
    back = sourcenb.read(root / "edit_me.sql")
    assert [c["source"] for c in back["cells"]] == [c["source"] for c in cells]
