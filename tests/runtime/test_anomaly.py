"""The anomaly score: in [0, 1], online (a prefix scores the same), part of the stream's state, the
same for many sensors as for one, and the same from the float32 and int8 files."""

from __future__ import annotations

import numpy as np
import pytest

from runtime import Stream, load
from tests.conftest import run_module

from .conftest import FLOAT, needs_tflite
from .test_step import spiky_sensor


def scores(model, values) -> np.ndarray:
    stream = Stream(model)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        stream.push(float(v))
        if stream.score is not None:
            out[i] = stream.score
    return out


@pytest.fixture(scope="module")
def spiky() -> np.ndarray:
    return spiky_sensor(1500, seed=7)[0]


def test_score_is_a_probability_needing_no_future(test_artifacts, spiky):
    """Every score lies in [0, 1]; the first `window` samples have none; a stream of the first
    900 samples scores them exactly as the stream of all 1,500 did."""
    model = load(test_artifacts / "gru", FLOAT, "step")
    full = scores(model, spiky)
    assert np.isnan(full[: model.window]).all() and not np.isnan(full[model.window :]).any()
    got = full[model.window :]
    assert got.min() >= 0.0 and got.max() <= 1.0 and got.max() > 0.5
    np.testing.assert_array_equal(scores(model, spiky[:900]), full[:900])


def test_score_state_survives_a_restart(test_artifacts, spiky):
    """get_state() after 700 samples, set_state() on a new stream: the same scores after it."""
    model = load(test_artifacts / "gru", FLOAT, "step")
    full = scores(model, spiky)
    first = Stream(model)
    for v in spiky[:700]:
        first.push(float(v))
    second = Stream(model)
    second.set_state(first.get_state())
    rest = []
    for v in spiky[700:]:
        second.push(float(v))
        rest.append(second.score)
    np.testing.assert_allclose(rest, full[700:], rtol=1e-12, atol=1e-12)


def test_many_sensors_score_as_one_each(test_artifacts, spiky):
    """A stream of two sensors scores each as a stream of one does."""
    model = load(test_artifacts / "gru", FLOAT, "step")
    other = spiky[::-1].copy()
    both = Stream(model, sensors=2)
    got = []
    for a, b in zip(spiky, other, strict=True):
        both.push(np.array([a, b]))
        got.append([np.nan, np.nan] if both.score is None else both.score)
    # one invoke for both sensors rounds the float32 forecasts a little differently
    want = np.stack([scores(model, spiky), scores(model, other)], 1)
    np.testing.assert_allclose(np.array(got), want, rtol=0, atol=1e-5)


@needs_tflite
def test_float32_and_int8_files_score_alike(test_artifacts, spiky):
    """The int8 step file's forecasts lie within its bound of float32's: their scores agree closely
    and the files flag the same samples but a few in a thousand (measured: this small GRU, 90% of
    samples within 0.008, 99% within 0.07, 1 of 1,450 flagged by one; the 57 NAB models, 99%
    within 0.014, 61 of 365,558 samples flagged by one)."""
    a = scores(load(test_artifacts / "gru", "float32", "step"), spiky)
    b = scores(load(test_artifacts / "gru", "int8", "step"), spiky)
    judged = ~np.isnan(a)
    assert np.percentile(np.abs(a - b)[judged], 90) <= 0.02
    assert np.percentile(np.abs(a - b)[judged], 99) <= 0.1
    threshold = load(test_artifacts / "gru", "float32", "step").anomaly_threshold
    assert ((a >= threshold) != (b >= threshold))[judged].sum() <= 0.003 * judged.sum()


def test_a_threshold_outside_the_scores_range_is_one_line(lstm_dir):
    res = run_module("runtime", "stream", "--model", str(lstm_dir), "--threshold", "2", stdin="1\n")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "expected an anomaly score in (0, 1], got '2'" in res.stderr.strip().splitlines()[-1]
