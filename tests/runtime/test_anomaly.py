"""The anomaly score: in [0, 1], online (a prefix scores the same), part of the stream's state, the
same for many sensors as for one, and the same from the float32 and int8 files."""

from __future__ import annotations

import numpy as np
import pytest

from runtime import Stream, open_model
from runtime.anomaly import THRESHOLD, AnomalyScore, ScoreParams, seasonal_period
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
    model = open_model(test_artifacts / "gru", FLOAT, "step")
    full = scores(model, spiky)
    assert np.isnan(full[: model.window]).all() and not np.isnan(full[model.window :]).any()
    got = full[model.window :]
    assert got.min() >= 0.0 and got.max() <= 1.0 and got.max() > 0.5
    np.testing.assert_array_equal(scores(model, spiky[:900]), full[:900])


def test_score_state_survives_a_restart(test_artifacts, spiky):
    """get_state() after 700 samples, set_state() on a new stream: the same scores after it."""
    model = open_model(test_artifacts / "gru", FLOAT, "step")
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
    model = open_model(test_artifacts / "gru", FLOAT, "step")
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
    a = scores(open_model(test_artifacts / "gru", "float32", "step"), spiky)
    b = scores(open_model(test_artifacts / "gru", "int8", "step"), spiky)
    judged = ~np.isnan(a)
    assert np.percentile(np.abs(a - b)[judged], 90) <= 0.02
    assert np.percentile(np.abs(a - b)[judged], 99) <= 0.1
    threshold = open_model(test_artifacts / "gru", "float32", "step").anomaly_threshold
    assert ((a >= threshold) != (b >= threshold))[judged].sum() <= 0.003 * judged.sum()


def test_a_threshold_outside_the_scores_range_is_one_line(lstm_dir):
    res = run_module("runtime", "stream", "--model", str(lstm_dir), "--threshold", "2", stdin="1\n")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "expected an anomaly score in (0, 1], got '2'" in res.stderr.strip().splitlines()[-1]


def daily(days: int, seed: int = 0, low_day: int | None = None) -> np.ndarray:
    """A square daily pattern (288 samples a day: 20 at night, 80 by day) with noise; on
    `low_day` the day's level is 40, a level the series knows from its edges."""
    rng = np.random.default_rng(seed)
    phase = np.arange(days * 288) % 288
    x = np.where((phase >= 100) & (phase < 200), 80.0, 20.0)
    if low_day is not None:
        x[low_day * 288 + 100 : low_day * 288 + 200] = 40.0
    return x + rng.uniform(-3, 3, len(x))


def test_seasonal_period_is_found_beyond_the_window():
    """The daily pattern's 288 samples, from three days; none in white noise; none for a period
    the model's window already covers (nor its multiples)."""
    assert seasonal_period(daily(3), window=50) == 288
    assert seasonal_period(np.random.default_rng(1).normal(size=2000), window=50) == 0
    assert seasonal_period(np.sin(np.arange(1000) * 2 * np.pi / 30), window=50) == 0


def test_a_day_unlike_the_others_scores_high_with_the_period():
    """A day at 40 instead of 80, each sample forecast as well as on other days (residuals of the
    noise alone): with the period the score flags that day and no other; without it, nothing
    flags it."""
    values = daily(12, low_day=9)
    sizes = np.random.default_rng(2).uniform(0, 3, len(values)) / 30
    got = {}
    for period in (288, 0):
        score = AnomalyScore(period=period, scale=30.0)
        got[period] = np.array([score.push(v, s) for v, s in zip(values, sizes, strict=True)])
    day = slice(9 * 288 + 100, 9 * 288 + 200)
    assert got[288][day].max() >= THRESHOLD > got[0][day].max()
    others = np.r_[3 * 288 : 9 * 288, 10 * 288 : 12 * 288]
    assert got[288][others].max() < THRESHOLD


def test_a_long_quiet_lowers_the_bar_and_an_alarm_resets_it():
    """The same small surprise after 3,000 quiet samples and 100 samples after an alarm: the
    first scores nearly `thirst` more than without thirst, the second hardly more (fatigue off,
    so that thirst alone moves the scores; the alarm is the one sample past the threshold)."""
    sizes = np.random.default_rng(3).uniform(0.05, 0.15, 4000)
    sizes[3000:3002] = sizes[3600:3602] = 0.25
    sizes[3500] = 5.0
    got = {}
    for thirst in (ScoreParams.thirst, 0.0):
        score = AnomalyScore(ScoreParams(fatigue=0.0, thirst=thirst))
        got[thirst] = np.array([score.push(0.0, s) for s in sizes])
        assert np.flatnonzero(got[thirst] >= THRESHOLD).tolist() == [3500]
    raised = got[ScoreParams.thirst] - got[0.0]
    assert 0.9 * ScoreParams.thirst < raised[3000] <= ScoreParams.thirst
    assert 0 < raised[3600] < 0.15 * ScoreParams.thirst
    assert raised.max() <= ScoreParams.thirst
