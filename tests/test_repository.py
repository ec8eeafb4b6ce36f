"""The repository holds nothing machine-local: a fresh clone anywhere must set itself up."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import PurePosixPath

import pytest

from tests.conftest import REPO

VENV_PATH = re.compile(r"(^|/)\.?venv[^/]*(/|$)")


def tracked() -> list[tuple[str, str, str]]:
    """(mode, object, path) of every file the index tracks."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-s", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    rows = []
    for entry in filter(None, out.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, obj, _stage = meta.split()
        rows.append((mode, obj, path))
    return rows


def leaves_repository(link: str, target: str) -> bool:
    """True if a symbolic link at `link` (repo-relative) points outside the repository."""
    if target.startswith("/"):
        return True
    depth = 0
    for part in (PurePosixPath(link).parent / target).parts:
        depth += -1 if part == ".." else part not in (".", "")
        if depth < 0:
            return True
    return False


def test_no_tracked_link_leaves_the_repository():
    links = [(path, obj) for mode, obj, path in tracked() if mode == "120000"]
    bad = []
    for path, obj in links:
        target = subprocess.run(
            ["git", "cat-file", "-p", obj], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        if leaves_repository(path, target):
            bad.append(f"{path} -> {target}")
    assert not bad, f"tracked links leave the repository (git rm --cached them): {bad}"


def test_no_virtual_environment_is_tracked():
    venvs = [path for _, _, path in tracked() if VENV_PATH.search(path)]
    assert not venvs, f"virtual environment paths are tracked (git rm --cached them): {venvs}"


def test_link_check_knows_inside_from_outside():
    assert leaves_repository(".venv", "/tmp/ci/.venv")
    assert leaves_repository("a/b", "../../x")
    assert not leaves_repository("a/b", "../x") and not leaves_repository("a", "b/c")
