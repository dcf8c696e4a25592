"""`runner.py doctor --fetch-delta` against a real HTTP server on 127.0.0.1 serving a Maven-layout
folder (Maven Central itself is not reachable from the test machine): verified download, atomic
and all-or-nothing caching, one sentence when the repository refuses, is wrong or is away."""
from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import zipfile

import pytest

from course.cli import main
from course.runtime import delta


def stand_in_jar(path, name) -> bytes:
    """A small real jar (zip) with a manifest: not Delta's code, only its file name and layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nImplementation-Title: {name}\n")
    return path.read_bytes()


@pytest.fixture
def maven(tmp_path, monkeypatch):
    """A Maven repository folder served over HTTP, plus an environment with no Delta jars anywhere."""
    version = delta.delta_version()
    repo = tmp_path / "maven2"
    jars = {}
    for artifact in delta.delta_artifacts(version):
        jar = repo / artifact.path
        jars[artifact.name] = stand_in_jar(jar, artifact.name)
        jar.with_name(jar.name + ".sha1").write_text(hashlib.sha1(jars[artifact.name]).hexdigest() + "\n")
    handler = functools.partial(QuietHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    cache = tmp_path / "cache"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))        # no Ivy/Maven caches of the real user
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("DAY7_DELTA", raising=False)
    monkeypatch.setenv("DAY7_DELTA_JARS", str(cache))
    monkeypatch.setenv("DAY7_MAVEN_REPO", f"http://127.0.0.1:{server.server_port}/")
    delta.storage.cache_clear()
    yield repo, cache, jars
    server.shutdown()
    server.server_close()
    delta.storage.cache_clear()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def fetch(capsys):
    code = main(["doctor", "--fetch-delta"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fetch_puts_verified_jars_where_spark_will_find_them(maven, capsys):
    repo, cache, jars = maven
    assert delta.storage().format == "parquet"
    code, out, err = fetch(capsys)
    assert code == 0, err
    assert sorted(p.name for p in cache.iterdir()) == sorted(a.filename for a in delta.delta_artifacts(delta.delta_version()))
    for artifact in delta.delta_artifacts(delta.delta_version()):
        assert (cache / artifact.filename).read_bytes() == jars[artifact.name]
    assert delta.find_delta_jars() == tuple(str(cache / a.filename) for a in delta.delta_artifacts(delta.delta_version()))
    assert delta.storage().format == "delta" and "jars ready" in out
    # Cached: a second fetch needs no repository at all.
    for jar in repo.rglob("*.jar"):
        jar.unlink()
    assert fetch(capsys)[0] == 0


def test_wrong_sha1_is_refused_and_nothing_is_cached(maven, capsys):
    repo, cache, _ = maven
    storage_jar = next(repo.rglob("delta-storage-*.jar"))
    storage_jar.with_name(storage_jar.name + ".sha1").write_text("0" * 40)
    code, out, err = fetch(capsys)
    assert code == 1
    assert "SHA-1" in err and "refused, nothing cached" in err and len(err.strip().splitlines()) == 1
    # The delta-spark jar verified, but it is not kept alone: all or none, no temp files left.
    assert not cache.exists()


def test_missing_jar_is_one_sentence_and_nothing_is_cached(maven, capsys):
    repo, cache, _ = maven
    next(repo.rglob("delta-storage-*.jar")).unlink()
    code, _, err = fetch(capsys)
    assert code == 1
    assert "answered HTTP 404" in err and len(err.strip().splitlines()) == 1
    assert not cache.exists()


def test_unreachable_repository_is_one_sentence_exit_1(maven, monkeypatch, capsys):
    with socket.socket() as probe:                      # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DAY7_MAVEN_REPO", f"http://127.0.0.1:{port}/maven2")
    code, _, err = fetch(capsys)
    assert code == 1
    assert "could not reach" in err and "DAY7_MAVEN_REPO" in err and len(err.strip().splitlines()) == 1
    assert not maven[1].exists()


def test_repository_setting_that_is_not_a_url_is_exit_2(maven, monkeypatch, capsys):
    monkeypatch.setenv("DAY7_MAVEN_REPO", "repo1.maven.org/maven2")
    code, _, err = fetch(capsys)
    assert code == 2 and "is not an http(s):// or file:// URL" in err
    assert not maven[1].exists()


def test_plain_doctor_names_the_fetch_command_when_jars_are_missing(maven):
    from course.cli.doctor import check_delta

    verdict, text = check_delta()
    assert verdict == "warn" and "python runner.py doctor --fetch-delta" in text


def test_without_day7_delta_jars_the_jars_go_to_the_user_cache(maven, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("DAY7_DELTA_JARS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fetch(capsys)[0] == 0
    cache = tmp_path / "xdg" / "day7" / "jars"
    assert delta.find_delta_jars() == tuple(str(cache / a.filename) for a in delta.delta_artifacts(delta.delta_version()))
    assert delta.storage().format == "delta"
