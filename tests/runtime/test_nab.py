"""A real sensor series end to end: the NAB ambient-temperature model's files as anomaly detectors.

The model is trained and exported by tests/make_artifacts.py from ../shared/data (NAB, MIT
licence) with its labelled failure windows; without that folder these tests skip.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from runtime import Stream, open_model
from tests.runtime.conftest import LONG_WINDOW_STREAM, manifest_files, needs_tflite


@pytest.fixture(scope="module")
def nab_dir(test_artifacts: Path) -> Path:
    folder = test_artifacts / "nab"
    if not (folder / "manifest.json").is_file():
        pytest.skip("no NAB test model: ../shared/data was missing when the test models were made")
    return folder


@pytest.fixture(scope="module")
def labelled(nab_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The series (data units) and the index of the labelled window each sample lies in (-1)."""
    source = Path(json.loads((nab_dir / "model.json").read_text())["data"]["source"])
    if not source.is_file():  # e.g. on the emulated Pi: the model came without its data
        pytest.skip(f"{source} is not on this machine")
    with source.open() as f:
        rows = list(csv.DictReader(f))
    windows = json.loads((source.parent / "nab-labels.json").read_text())[source.name]
    when = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    label = np.full(len(rows), -1)
    for k, (start, end) in enumerate(windows):
        lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
        label[[lo <= t <= hi for t in when]] = k
    return np.array([float(r["value"]) for r in rows]), label


def flags(folder: Path, variant: str, mode: str, values: np.ndarray, scale: float) -> np.ndarray:
    """Each sample's anomaly flag, with the exported threshold times `scale`."""
    model = open_model(folder, variant, mode)
    stream = Stream(model, threshold=model.anomaly_threshold * scale)
    out = np.zeros(len(values), bool)
    for i, v in enumerate(values):
        stream.push(float(v))
        out[i] = stream.anomaly
    return out


def test_every_file_of_a_real_series_passes_the_gate(nab_dir):
    for f in manifest_files(nab_dir):
        assert f["parity"]["passed"], (f["file"], f["parity"])


@pytest.mark.parametrize("mode", [pytest.param("window", marks=LONG_WINDOW_STREAM), "step"])
@needs_tflite
def test_int8_finds_the_failures_float32_finds_without_many_more_false_alarms(
    nab_dir, labelled, mode
):
    """At the exported threshold and at half of it (where the float32 file finds a failure)."""
    values, label = labelled
    outside, windows = label < 0, set(label[label >= 0].tolist())
    for scale in (1.0, 0.5):
        ref = flags(nab_dir, "float32", mode, values, scale)
        got = flags(nab_dir, "int8", mode, values, scale)
        found = {k for k in windows if ref[label == k].any()}
        assert {k for k in windows if got[label == k].any()} >= found, scale
        assert got[outside].sum() <= 1.5 * ref[outside].sum(), (scale, got.sum(), ref.sum())
    assert found, "at half its threshold the float32 file finds a labelled failure"
