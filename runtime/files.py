"""Replacing a file or a folder so that a crash leaves the old one or the new one, never half."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path, *, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` (an empty folder when `folder`); when the block
    succeeds, it is renamed over `path`. An error leaves `path` as it was and nothing beside it.

    The rename is atomic for a file; a folder is renamed over an old one after the old one is
    removed, so a crash in between leaves no folder, never a half-written one. The parent
    folder must exist: one that vanished (a disk gone) is an OSError, not made anew."""
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        move(tmp, path)
    finally:
        remove(tmp)


def move(src: Path, dst: Path) -> None:
    """Rename `src` over `dst`; a folder replaces a folder of the same name whole."""
    if src.is_dir() and dst.is_dir():
        shutil.rmtree(dst)
    os.replace(src, dst)


def remove(path: Path) -> None:
    """Remove a file or a folder if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write_atomic(path: Path, parts: bytes | Iterable[bytes]) -> int:
    """Write `parts` to `path` through `replacing`, fsynced before the rename; the bytes
    written. OSError (a full or missing disk) leaves `path` as it was."""
    size = 0
    with replacing(path) as tmp, tmp.open("wb") as f:
        for part in [parts] if isinstance(parts, bytes) else parts:
            size += f.write(part)
        f.flush()
        os.fsync(f.fileno())
    return size
