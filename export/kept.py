"""What an export of some variants keeps of an earlier export of the same model: the other files,
as they were (`python -m export --variants c_integer` refreshes one file, it drops none)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from runtime.digest import sha256_file
from runtime.manifest import FORMAT, MANIFEST


def _intact(artifacts: Path, info: dict) -> bool:
    """The file and the headers it includes are there, as the entry describes them."""
    parts = [info, *info.get("includes", [])]
    return all(
        (artifacts / p["file"]).is_file() and sha256_file(artifacts / p["file"]) == p["sha256"]
        for p in parts
    )


def _fits(tmp: Path, info: dict) -> bool:
    """No header this run wrote differs from the one the kept file was checked with."""
    return all(
        not (tmp / h["file"]).is_file() or sha256_file(tmp / h["file"]) == h["sha256"]
        for h in info.get("includes", [])
    )


def keep_earlier(artifacts: Path, tmp: Path, exported: set[str]) -> tuple[list[dict], list[dict]]:
    """The entries and failures of the manifest in `artifacts` for files not in `exported`, if
    it is of the same model.json; the kept files (and their headers) are copied into the
    staging folder `tmp`, so that moving it into place leaves them as they were."""
    try:
        old = json.loads((artifacts / MANIFEST).read_text())
        same = old["format"] == FORMAT and old["model_json"]["sha256"] == sha256_file(
            artifacts / "model.json"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return [], []
    if not same:
        return [], []
    files = [
        info
        for info in old.get("files", [])
        if info["file"] not in exported and _intact(artifacts, info) and _fits(tmp, info)
    ]
    for info in files:
        for p in [info, *info.get("includes", [])]:
            (tmp / p["file"]).parent.mkdir(parents=True, exist_ok=True)
            if not (tmp / p["file"]).exists():
                shutil.copy2(artifacts / p["file"], tmp / p["file"])
    failed = [f for f in old.get("failed", []) if f.get("file") not in exported]
    return files, failed
