"""Runtime fixtures: exported test models, and which interpreters this environment has."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.interpreters import FORMAT_BACKENDS, available

MODELS = ("lstm", "gru", "lstm2")
TFLITE_BACKENDS = [b for b in FORMAT_BACKENDS["tflite"] if available(b)]
HAS_ONNX = available("onnxruntime")
HAS_CC = available("c")  # a C compiler, for the generated C files
# The float32 file every environment runs: TFLite's, or where no TFLite interpreter exists (the
# 32-bit Pi: no wheel) the numpy weights, held to the same bound. Tests of the TFLite int8 files
# need an interpreter.
FLOAT = "float32" if TFLITE_BACKENDS else "numpy"
needs_tflite = pytest.mark.skipif(not TFLITE_BACKENDS, reason="needs a TFLite interpreter")
# What the anomaly flags catch on long streams, in window mode: `make test` runs these where the
# device runs the runtime, not again on the classic Pi's tflite-runtime 2.14, whose int8 window
# files take 3x as long a call (1 ms for the GRU's) and are held to their bounds there by the
# parity tests, file by file.
LONG_WINDOW_STREAM = pytest.mark.long_window_stream


def manifest_files(folder: Path) -> list[dict]:
    """The file entries of a folder's manifest."""
    return json.loads((folder / "manifest.json").read_text())["files"]


def runnable(folder: Path, mode: str | None = None) -> list[tuple[str, str]]:
    """(file, backend) pairs this environment can run for a folder's manifest (of one mode)."""
    pairs = []
    for f in manifest_files(folder):
        if mode and f["mode"] != mode:
            continue
        if f["format"] == "onnx":
            pairs += [(f["file"], "onnxruntime")] if HAS_ONNX else []
        elif f["format"] == "numpy":
            pairs += [(f["file"], "numpy")]  # numpy alone: every environment runs these
        elif f["format"] == "c":
            pairs += [(f["file"], "c")] if HAS_CC else []
        else:
            pairs += [(f["file"], b) for b in TFLITE_BACKENDS]
    return pairs


@pytest.fixture(scope="session")
def lstm_dir(test_artifacts: Path) -> Path:
    return test_artifacts / "lstm"


@pytest.fixture(scope="session")
def horizon_dir(test_artifacts: Path) -> Path:
    """A change model of the next 4 samples of the sine."""
    return test_artifacts / "horizon"


@pytest.fixture(scope="session")
def windows(lstm_dir: Path) -> dict:
    return dict(np.load(lstm_dir / "windows.npz"))
