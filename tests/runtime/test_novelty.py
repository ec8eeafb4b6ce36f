"""A fresh stream starts from the range its model was trained on: a sample within it is no
novelty (it was a new daily high at every afternoon of a stream's first year), one beyond it is."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess

import numpy as np
import pytest

from runtime.anomaly import AnomalyScore
from runtime.forecaster import open_model
from runtime.serve.service import Service
from runtime.stream import Stream
from tests.conftest import REPO

from .conftest import HAS_CC, runnable


@pytest.fixture(scope="module")
def drift(test_artifacts):
    """The change model of a sine drifting up: its training part keeps reaching new highs."""
    folder = test_artifacts / "drift"
    values = np.load(folder / "windows.npz")["values"]
    meta = json.loads((folder / "model.json").read_text())
    trained = values[: meta["data"]["test_start"] + 1]  # a change model: one sample more
    lo, hi = float(trained.min()), float(trained.max())
    samples = [*map(float, trained), hi + 0.2 * (hi - lo)]  # and one far past the range
    return folder, samples, (lo, hi)


def test_the_manifest_holds_the_training_range(drift):
    folder, _, trained = drift
    manifest = json.loads((folder / "manifest.json").read_text())
    assert tuple(manifest["model"]["anomaly"]["range"]) == trained


def test_no_sample_within_the_training_range_is_a_novelty(drift):
    folder, samples, trained = drift
    for file, backend in runnable(folder):
        stream = Stream(open_model(folder / file, backend=backend))
        sizes, scores = [], []
        for v in samples:
            stream.push(v)
            sizes.append(None if stream.residual is None else abs(stream.residual))
            scores.append(stream.score)
        assert all(s is None or s < 1 for s in scores[:-1]), file
        assert scores[-1] == 1.0, file
        # the same residuals, scored from an empty range as before: novelties all along
        scale = stream.model.norm.scale
        period = stream.model.anomaly_period
        for known, novelty in ((None, True), (trained, False)):
            score = AnomalyScore(period=period, scale=scale, trained=known)
            pairs = zip(samples, sizes, strict=True)
            got = [score.push(v, None if z is None else z / scale) for v, z in pairs]
            ones = [i for i, s in enumerate(got[:-1]) if s == 1.0]
            assert bool(ones) == novelty, (file, known, ones[:5])


def test_serve_without_state_starts_from_the_training_range(drift):
    folder, samples, _ = drift
    service = Service(open_model(folder))
    scores = [json.loads(service.handle("t", v, None, 0.0))["score"] for v in samples]
    assert all(s is None or s < 1 for s in scores[:-1]) and scores[-1] == 1.0


@pytest.mark.skipif(not HAS_CC, reason="needs a C compiler")
def test_the_c_stream_starts_from_the_training_range(drift, tmp_path):
    folder, samples, _ = drift
    exe = tmp_path / "c-stream"
    c_dir = folder / "c"
    cc = shutil.which("cc") or shutil.which("gcc")
    sources = [str(REPO / "examples/c/stream.c"), str(c_dir / "forecaster_float32.c")]
    subprocess.run([cc, "-std=c99", "-O2", "-I", str(c_dir), "-o", str(exe), *sources, "-lm"])
    text = "".join(f"{v!r}\n" for v in samples)
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True)
    assert out.returncode == 0, out.stderr
    scores = [r["score"] for r in csv.DictReader(io.StringIO(out.stdout))]
    assert all(s == "" or float(s) < 1 for s in scores[:-1])
    assert math.isclose(float(scores[-1]), 1.0)
