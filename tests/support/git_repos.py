"""Real git repositories in tmp_path, built with GitPython and git commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git

# Sample values in Customer.io's key shapes (20 / 32 lowercase hex); never issued by anyone.
SITE_ID = "f82ad78f695bd32f9d99"
TRACK_KEY = "1a621ef65edfe6d3b6ae"
OTHER_TRACK_KEY = "9c3e5b7a1d2f4e6a8b0c"
APP_KEY = "20436c6351668b25a74a2c289a639d3f"
ENV_PAIR = f"CUSTOMERIO_SITE_ID={SITE_ID}\nCUSTOMERIO_TRACK_API_KEY={TRACK_KEY}\n"


class Repo:
    """A repository in a directory, with helpers that commit and return commit ids."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")

    def git(self, *args: str) -> str:
        """Run a git command in the repository and return its stdout."""
        return subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=True
        ).stdout.strip()

    def write(self, name: str, content: str | bytes) -> Path:
        file = self.path / name
        file.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            file.write_bytes(content.encode())
        else:
            file.write_bytes(content)
        return file

    def commit(self, message: str, files: dict[str, str | bytes] | None = None) -> str:
        """Write ``files``, stage everything, commit; return the commit id."""
        for name, content in (files or {}).items():
            self.write(name, content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def remove(self, message: str, *names: str) -> str:
        self.git("rm", "-q", *names)
        self.git("commit", "-q", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def make_repo(tmp_path: Path, name: str = "repo") -> Repo:
    """An empty repository on branch ``main`` under ``tmp_path``."""
    return Repo(tmp_path / name)
