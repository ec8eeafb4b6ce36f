"""The detector: each NAB file streamed whole through the device runtime, its score per row."""

from __future__ import annotations

import csv
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import UserError

from .corpus import Series

REPO = Path(__file__).resolve().parent.parent
# what `make nab` streams: the step files and the C source (run by the C backend)
VARIANTS = ("int8", "float32", "c_int8")


@dataclass
class Detection:
    """One file streamed: per row the forecast, residual and score (NaN / 0 before the first)."""

    prediction: np.ndarray
    residual: np.ndarray
    score: np.ndarray
    anomaly: np.ndarray


def stream_file(python: str, model: Path, series: Series, variant: str) -> Detection:
    """`python -m runtime stream` over the whole file with the variant's step file."""
    cmd = [python, "-m", "runtime", "stream", "--model", str(model), "--mode", "step"]
    cmd += ["--variant", variant, "--input", str(series.path), "--column", "value"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"{series.name}: the runtime failed (exit {proc.returncode}): {last}")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))

    def column(key: str, empty: float) -> np.ndarray:
        return np.array([float(r[key]) if r[key] else empty for r in rows])

    return Detection(
        column("prediction", np.nan),
        column("residual", np.nan),
        column("score", 0.0),
        column("anomaly", 0.0).astype(bool),
    )
