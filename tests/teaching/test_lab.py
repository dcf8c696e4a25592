"""`make lab`: JupyterLab serves the course with the widgets extension and the kit's kernel."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def lab(tmp_path):
    port, token = free_port(), "day7-test-token"
    jupyter = Path(sys.executable).with_name("jupyter")
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--allow-root", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path)))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get(f"{base}/api/status?token={token}")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.3)
    yield base, token
    proc.terminate()
    proc.wait(15)


def test_lab_serves_the_course_with_widgets(lab):
    base, token = lab
    status, body = get(f"{base}/lab/api/extensions?token={token}")
    names = {e["name"] for e in json.loads(body)}
    assert "jupyter-widgets-jupyterlab-manager" in names
    status, _ = get(f"{base}/lab/tree/notebooks/00_start_here.ipynb?token={token}")
    assert status == 200
    specs = json.loads(get(f"{base}/api/kernelspecs?token={token}")[1])
    assert specs["default"] == "python3"
    assert specs["kernelspecs"]["python3"]["spec"]["argv"][1:3] == ["-m", "ipykernel_launcher"]
