"""One series of a fleet: train and export it with the project's own CLIs, on whichever machine
runs the task. Input and output travel with the task (bytes in, files out), so a worker needs the
project's code and environment, not a file system shared with the client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOG = "fleet.log"  # what training and export printed, kept in the series' folder


@dataclass
class Job:
    """What one task needs: the series' name and CSV, and the command lines' options."""

    name: str
    csv: bytes
    column: str | None
    rows: int | None
    train_args: list[str] = field(default_factory=list)
    export_args: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What a task sends back: every file it wrote, its log, the time and the error, if any."""

    name: str
    files: dict[str, bytes]
    log: str
    seconds: float
    error: str | None = None  # training or export could not finish (the reason, one line)
    export_failed: bool = False  # export ran to its end, but a file missed its bound


def _last_error(stderr: str) -> str:
    """The line a failed CLI ended with (its `error: ...` line, or a traceback's last line)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or ["no message"])[-1].removeprefix("error: ")[:400]


def run(job: Job) -> Outcome:
    """Train and export one series in a temporary folder, in a process of its own; return its
    files (never raises for a bad series: the reason comes back in `error`)."""
    t0 = time.perf_counter()
    env = os.environ | {"PYTHONPATH": str(REPO)}
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        tmp = Path(tmp)
        data = tmp / f"{Path(job.name).name}.csv"  # the name errors and model.json show
        data.write_bytes(job.csv)
        out, logs = tmp / "out", tmp / "logs"
        logs.mkdir()
        train = ["training", "--data", str(data), "--out", str(out)]
        train += ["--column", job.column] if job.column else []
        train += ["--rows", str(job.rows)] if job.rows else []
        steps = [train + job.train_args, ["export", "--dir", str(out), *job.export_args]]
        proc = subprocess.run(
            [sys.executable, "-m", "fleet._steps", str(logs), json.dumps(steps)],
            capture_output=True, text=True, env=env, cwd=REPO,
        )  # fmt: skip
        error, export_failed = None, False
        for i, argv in enumerate(steps):
            if not (logs / f"{i}.err").is_file():
                break
            stdout, stderr = (
                (logs / f"{i}.{s}").read_text(errors="replace") for s in ("out", "err")
            )
            log += [f"$ python -m {argv[0]}", stdout, stderr]
            done = logs / f"{i}.code"
            code = done.read_text() if done.is_file() else "died"
            if code == "0":
                continue
            if argv[0] == "export" and code == "1" and (out / "manifest.json").is_file():
                export_failed = True  # every file written; one or more missed its bound
            else:  # it failed, or the process died in it
                error = f"{argv[0]}: {_last_error(stderr + proc.stderr)}".replace(f"{tmp}/", "")
            break
        if error is None and not export_failed and proc.returncode:
            error = f"fleet: {_last_error(proc.stderr)}"  # it died before its first step
        files = (
            {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
            if error is None
            else {}
        )
    return Outcome(job.name, files, "\n".join(log), time.perf_counter() - t0, error, export_failed)
