"""Write a run's files into a staging folder and move them into place only when the run succeeds."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.files import move, remove

STREAM_FILE = "stream.keras"  # the weights tuned for step mode, when tuning helped


def step_weights_file(artifacts: Path) -> Path:
    """The Keras file the step files are made from: the weights training tuned for streaming
    when it did (model.json names it), else the window model's."""
    meta = json.loads((artifacts / "model.json").read_text())
    return artifacts / ((meta.get("stream") or {}).get("file") or "model.keras")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success each of its files (or folders)
    replaces its namesake in `out`. A failed run leaves `out` exactly as it was."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=out.parent))
    try:
        yield tmp
        for f in sorted(tmp.iterdir()):
            move(f, out / f.name)
    finally:
        remove(tmp)


def write_json(path: Path, data: dict) -> None:
    """Pretty JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2) + "\n")


def commit() -> str:
    """The repository's commit (short), for tables that say what they were measured at."""
    res = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
    )  # fmt: skip
    return res.stdout.strip() or "unknown"


def write_between_markers(path: Path, name: str, text: str) -> None:
    """Replace what lies between `<!-- NAME:start -->` and `<!-- NAME:end -->` in a file."""
    first, last = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    doc = path.read_text()
    start, end = doc.index(first), doc.index(last)
    path.write_text(doc[: start + len(first)] + "\n" + text + doc[end:])
