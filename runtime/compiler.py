"""The system C compiler: build a generated forecaster (export/c.py) into a shared library.

The library is cached by the sha256 of the source, its header, the compiler and the flags, so a
file is compiled once per machine (about a second), not once per load.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from .digest import sha256
from .errors import UserError
from .files import replacing

FLAGS = ("-std=c99", "-O3", "-fPIC")  # -O3: GCC vectorizes the row loops at -O3 (and -O2 >= 12)
CACHE_ENV = "EDGE_FORECASTER_CACHE"  # where compiled libraries go (default ~/.cache/...)


def compiler() -> str | None:
    """The C compiler: $CC, else cc, gcc or clang on PATH; None if there is none."""
    names = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    return next((found for n in names if (found := shutil.which(n))), None)


@cache
def compiler_version() -> str:
    """e.g. 'gcc 12.2.0', from the compiler's --version."""
    cc = compiler()
    if cc is None:
        return "none"
    text = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    first = (text.splitlines() or ["unknown"])[0]
    number = re.search(r"\d+\.\d+(\.\d+)?", first)
    name = "clang" if "clang" in first else "gcc" if "Free Software" in text else Path(cc).name
    return f"{name} {number.group(0) if number else first}"


def require_compiler() -> str:
    """The compiler, or a UserError saying how to get one."""
    cc = compiler()
    if cc is None:
        raise UserError(
            "no C compiler found (cc, gcc or clang, or $CC): install one (apt install gcc) "
            "to run the C files, or use another variant"
        )
    return cc


def cache_dir() -> Path:
    """Where compiled libraries are kept."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "edge-forecaster"
    return Path(base)


def shared_library(source: Path) -> Path:
    """The source (with the header beside it) compiled into a shared library, cached."""
    cc = require_compiler()
    digest = sha256()
    for part in (source.read_bytes(), *(h.read_bytes() for h in local_includes(source))):
        digest.update(part)
    digest.update(f"{compiler_version()} {' '.join(FLAGS)}".encode())
    out = cache_dir() / f"{source.stem}-{digest.hexdigest()[:16]}.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as tmp:  # a concurrent load sees the whole library or none
        _run([cc, *FLAGS, "-shared", "-o", str(tmp), str(source), "-lm"], source)
    return out


def flash_bytes(source: Path) -> int | None:
    """Bytes of code and constants of the compiled object (text + data, as `size` counts them):
    what the forecaster adds to a device's flash. None without binutils' `size`."""
    cc, size = require_compiler(), shutil.which("size")
    if size is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        obj = Path(tmp) / "forecaster.o"
        _run([cc, "-std=c99", "-O2", "-c", "-o", str(obj), str(source)], source)
        text, data = (
            subprocess.run([size, str(obj)], capture_output=True, text=True, check=True)
            .stdout.splitlines()[1]
            .split()[:2]
        )
    return int(text) + int(data)


def local_includes(source: Path) -> list[Path]:
    """The files beside a source that it includes, and those they include, in the order found."""
    found: list[Path] = []
    todo = [source]
    while todo:
        for name in re.findall(r'#include "([^"]+)"', todo.pop(0).read_text()):
            path = source.parent / name
            if path.is_file() and path not in found:
                found.append(path)
                todo.append(path)
    return found


def _run(cmd: list[str], source: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no message"])[0]
        raise UserError(f"{Path(cmd[0]).name} cannot compile {source.name}: {first}")
