"""The parent's side of export/_conversions.py: one child process converts file after file.

A crash (int8 calibration can abort the process) or a timeout costs the file being converted;
the next file starts a new child.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .variants import Variant

REPO = Path(__file__).resolve().parent.parent
CONVERT_TIMEOUT_S = 600  # per file


class Converter:
    """Converts variants of one trained model; use as a context manager."""

    def __init__(self, artifacts: Path, timeout_s: float = CONVERT_TIMEOUT_S):
        # absolute: the child runs in the repository, not in the caller's folder
        self.artifacts, self.timeout_s = artifacts.resolve(), timeout_s
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, error: type | None, *_: object) -> None:
        if error is not None and self.proc is not None:
            self.proc.kill()  # the export failed: no need to wait for the child's import
        self.stop()

    def start(self) -> None:
        """Start a child; it imports TensorFlow while the parent goes on."""
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed when the child ends)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "export._conversions", str(self.artifacts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=REPO,
            env=os.environ | {"PYTHONPATH": str(REPO)},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _read(proc: subprocess.Popen, lines: queue.Queue) -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def stop(self) -> None:
        """End the child (it exits when its stdin closes)."""
        if self.proc is None:
            return
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.stderr.close()

    def convert(
        self, variant: Variant, out: Path, recipe: str = ""
    ) -> tuple[str | None, list[str]]:
        """Write variant's file to out by recipe (default: its first): (None on success, else
        the error to report; its notes)."""
        if self.proc is not None and self.proc.poll() is not None:
            self._death()  # it died after the last file
        if self.proc is None:
            self.start()
        notes: list[str] = []
        try:
            self.proc.stdin.write(f"{variant.key}\t{recipe}\t{out.resolve()}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._failed(out, self._death()), notes
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                self.stop()
                why = f"conversion took over {self.timeout_s:.0f}s and was stopped"
                return self._failed(out, why), notes
            if line is None:  # the child died
                return self._failed(out, self._death()), notes
            if line.startswith("note: "):
                notes.append(line.removeprefix("note: "))
            elif line == "ok":
                return (None if out.is_file() else self._failed(out, "no file written")), notes
            elif line.startswith("error: "):
                return self._failed(out, f"the converter failed: {line[7:]}"), notes

    def _death(self) -> str:
        """Why the child ended, from its exit status and the last line of its stderr."""
        code = self.proc.wait()
        self.stderr.seek(0)
        tail = [ln for ln in self.stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        with contextlib.suppress(OSError):  # a request it never read
            self.proc.stdin.close()
        self.proc = None
        self.stderr.close()
        if code < 0:
            return f"the converter crashed (signal {-code})"
        return f"the converter exited ({code}): {(tail or ['no message'])[-1][:300]}"

    @staticmethod
    def _failed(out: Path, why: str) -> str:
        out.unlink(missing_ok=True)
        return why
