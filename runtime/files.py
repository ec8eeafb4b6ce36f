"""Writing a file so that a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, parts: bytes | Iterable[bytes]) -> int:
    """Write `parts` to a temporary file beside `path`, fsync it, then rename it over `path`;
    the bytes written. OSError (a full or missing disk) leaves `path` as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for part in [parts] if isinstance(parts, bytes) else parts:
                size += f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size
