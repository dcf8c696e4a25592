"""Fetch jars from a Maven repository once: each checked against its published `.sha1`,
written atomically (temp file in the target folder, then rename), all or none.

The repository is Maven Central unless DAY7_MAVEN_REPO names a mirror (users behind a
proxy or on an air-gapped network point it at their Nexus/Artifactory; `file://` works too).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REPO = "https://repo1.maven.org/maven2"


class FetchError(Exception):
    """The repository could not give us a verified jar: one sentence, nothing written."""


class RepoSettingError(FetchError):
    """DAY7_MAVEN_REPO is not a URL we can use: bad configuration, nothing tried."""


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.jar"

    @property
    def path(self) -> str:  # Maven layout: io/delta/delta-storage/4.4.1/delta-storage-4.4.1.jar
        return f"{self.group.replace('.', '/')}/{self.name}/{self.version}/{self.filename}"


def repo_url() -> str:
    url = (os.environ.get("DAY7_MAVEN_REPO") or DEFAULT_REPO).rstrip("/")
    if urllib.parse.urlsplit(url).scheme not in {"http", "https", "file"}:
        raise RepoSettingError(f"DAY7_MAVEN_REPO={url!r} is not an http(s):// or file:// URL of a Maven repository.")
    return url


def _get(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.read()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url} answered HTTP {exc.code} ({exc.reason}): "
                         "the repository does not have this jar.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"could not reach {url} ({reason}): connect this machine to the internet "
                         "or set DAY7_MAVEN_REPO to a reachable Maven mirror.") from None


def _download_verified(artifact: Artifact, repo: str, folder: Path, timeout: float) -> Path:
    """Download into a hidden temp file in `folder` and return it once its SHA-1 matches."""
    url = f"{repo}/{artifact.path}"
    published = _get(url + ".sha1", timeout).decode("ascii", "replace").split()
    body = _get(url, timeout)
    actual = hashlib.sha1(body).hexdigest()
    if not published or published[0].lower() != actual:
        raise FetchError(f"{url} has SHA-1 {actual} but the repository publishes "
                         f"{published[0] if published else 'nothing'}: refused, nothing cached.")
    fd, temp = tempfile.mkstemp(prefix=f".{artifact.filename}.", suffix=".part", dir=folder)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    return Path(temp)


def fetch(artifacts: list[Artifact], folder: Path, timeout: float = 30.0) -> list[Path]:
    """Put every artifact's jar in `folder` (skipping ones already there) and return their paths.
    Every jar is downloaded and verified before any is renamed into place, so a failure leaves
    `folder` as it was."""
    repo = repo_url()
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    done = False
    try:
        for artifact in artifacts:
            final = folder / artifact.filename
            if not final.is_file():
                staged.append((_download_verified(artifact, repo, folder, timeout), final))
        for temp, final in staged:
            os.replace(temp, final)
        done = True
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        if created and not done:
            folder.rmdir()   # we made it and nothing went in: leave the disk as we found it
    return [folder / a.filename for a in artifacts]
