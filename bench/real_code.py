"""A benchmark repository of real code: released sdists of HTTP libraries, in release order.

Real code says "basic", "auth", "key", "token" and "secret" at their real frequency, which
a generated repository does not. `build_real_code_repo` downloads each release's sdist from
PyPI (checked against the SHA-256 PyPI publishes, cached in ``~/.cache/cio-sec-bench``),
unpacks each release of a project over the previous one in its own directory (so real
diffs appear: changed files are new blobs, unchanged ones are not), and commits them in
the order they were released. Then it plants Customer.io keys the way the generated
repository does, and adds that repository's binaries and opaque data, plus one tar.gz and
one zip, each holding a key.

    .venv/bin/python bench/real_code.py PATH   # build it alone, to look at it
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cio-sec-bench"
RELEASES = {
    "requests": ["2.18.4", "2.22.0", "2.25.1", "2.28.2", "2.31.0", "2.32.3"],
    "urllib3": ["1.24.3", "1.25.11", "1.26.18", "2.0.7", "2.2.3"],
    "httpx": ["0.18.2", "0.21.3", "0.23.3", "0.25.2", "0.27.2", "0.28.1"],
    "flask": ["1.0.4", "1.1.4", "2.0.3", "2.2.5", "2.3.3", "3.0.3"],
    "django": ["4.2.16", "5.1.3"],
}
"""Project → versions; each must have an sdist on PyPI."""
PLANT_EVERY = 4
"""One release commit in this many gets a planted key pair."""


@dataclass(frozen=True)
class Release:
    project: str
    version: str
    uploaded: str
    """ISO time PyPI received the sdist: the commit's date, and the order of commits."""
    sdist: Path


def fetch(project: str, version: str) -> Release:
    """The release's sdist from the cache, or from PyPI, checked against its SHA-256."""
    CACHE.mkdir(parents=True, exist_ok=True)
    meta_file = CACHE / f"{project}.json"
    if not meta_file.exists():
        url = f"https://pypi.org/pypi/{project}/json"
        with urllib.request.urlopen(url, timeout=60) as response:
            meta_file.write_bytes(response.read())
    files = json.loads(meta_file.read_bytes())["releases"][version]
    sdist = next(u for u in files if u["packagetype"] == "sdist")
    path = CACHE / sdist["filename"]
    if not path.exists() or _sha256(path) != sdist["digests"]["sha256"]:
        # Some mirrors answer with URLs relative to the JSON document.
        where = urllib.parse.urljoin(f"https://pypi.org/pypi/{project}/json", sdist["url"])
        with urllib.request.urlopen(where, timeout=300) as response:  # noqa: S310
            data = response.read()
        if hashlib.sha256(data).hexdigest() != sdist["digests"]["sha256"]:
            sys.exit(f"{sdist['filename']}: SHA-256 differs from what PyPI publishes")
        path.write_bytes(data)
    return Release(project, version, sdist["upload_time_iso_8601"], path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unpack(release: Release, into: Path) -> None:
    """Replace ``into`` with the sdist's files, without its top-level directory."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with tarfile.open(release.sdist) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts[1:]
            if not parts or not (member.isfile() or member.isdir()):
                continue
            member.name = str(Path(*parts))
            archive.extract(member, into, filter="data")


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL)


def _commit(repo: Path, message: str, date: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "b@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)


def _key_pair() -> tuple[str, str]:
    return secrets.token_hex(10), secrets.token_hex(10)


def _plant(text_file: Path, planted: list[str]) -> None:
    """Append a site ID and Track key, as the generated repository does."""
    site, key = _key_pair()
    with text_file.open("ab") as out:
        out.write(f"\nCUSTOMERIO_SITE_ID={site}\nCUSTOMERIO_TRACK_API_KEY={key}\n".encode())
    planted.append(f"{site}:{key}")


def _largest_python_file(root: Path) -> Path:
    return max(root.rglob("*.py"), key=lambda p: p.stat().st_size)


def _opaque_files(repo: Path, planted: list[str]) -> None:
    """The generated repository's binaries and opaque data, and two archives with keys."""
    from scan_repo import _file_content  # the generated repository's own content

    rng = random.Random(11)
    assets = repo / "assets"
    assets.mkdir()
    for number in range(40):
        kind = ("bin", "dat")[number % 2]
        (assets / f"blob{number}.{kind}").write_bytes(_file_content(rng, kind))
    site, key = _key_pair()
    env_text = f"CUSTOMERIO_SITE_ID={site}\nCUSTOMERIO_TRACK_API_KEY={key}\n".encode()
    planted.append(f"{site}:{key}")
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as archive:
        info = tarfile.TarInfo("deploy/.env")
        info.size = len(env_text)
        archive.addfile(info, io.BytesIO(env_text))
    (assets / "deploy.tar.gz").write_bytes(gzip.compress(tar_bytes.getvalue(), mtime=0))
    site, key = _key_pair()
    with zipfile.ZipFile(assets / "config.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("settings.env", f"CUSTOMERIO_SITE_ID={site}\nCUSTOMERIO_API_KEY={key}\n")
    planted.append(f"{site}:{key}")


def build_real_code_repo(repo: Path) -> list[str]:
    """Build the repository at ``repo``; return the planted ``site_id:key`` pairs."""
    releases = sorted(
        (fetch(project, version) for project, versions in RELEASES.items() for version in versions),
        key=lambda release: release.uploaded,
    )
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    _git(repo, "config", "gc.auto", "0")  # no background gc racing the final one
    planted: list[str] = []
    for number, release in enumerate(releases):
        _unpack(release, repo / release.project)
        if number % PLANT_EVERY == PLANT_EVERY - 1:
            _plant(_largest_python_file(repo / release.project), planted)
        _commit(repo, f"{release.project} {release.version}", release.uploaded)
        if number == len(releases) // 2:
            _git(repo, "tag", "midway")
            _git(repo, "branch", "maintenance")
    _opaque_files(repo, planted)
    _commit(repo, "assets", releases[-1].uploaded)
    _git(repo, "gc", "-q")
    return planted


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(Path(__file__).parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="where to build the repository (a new folder)")
    target = parser.parse_args().path.resolve()
    keys = build_real_code_repo(target)
    print(f"built {target}: {len(keys)} planted key pairs")
