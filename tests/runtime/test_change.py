"""A change model (it forecasts the step to the next sample) on a series that leaves its range.

The drift test model was trained on the seed's sine drifting up by one amplitude: its test part
lies above every level it was trained on, which a level model cannot follow.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from runtime import Stream, open_model
from runtime.parity import Reference
from runtime.windows import RANGE_MARGIN
from tests.runtime.conftest import FLOAT, runnable


@pytest.fixture(scope="module")
def drift(test_artifacts):
    folder = test_artifacts / "drift"
    if not folder.is_dir():
        pytest.skip("no drift test model (see tests/make_artifacts.py)")
    return folder


def test_the_test_part_leaves_the_training_range_and_is_not_flagged(drift):
    meta = json.loads((drift / "model.json").read_text())
    values = np.load(drift / "windows.npz")["values"]
    assert meta["normalization"]["target"] == "change"
    start = meta["data"]["test_start"] + 1  # the first test target, as a sample index
    lo, hi = values[:start].min(), values[:start].max()
    assert values[start:].max() > hi + RANGE_MARGIN * (hi - lo) / 2  # a level model flags these
    st = Stream(open_model(drift, FLOAT, "window"))
    flagged = 0
    for v in values:
        st.push(float(v))
        flagged += st.out_of_range  # the model's inputs are steps, which stay in range
    assert flagged == 0


@pytest.mark.parametrize("mode", ["window", "step"])
def test_forecasts_are_keras_forecasts_added_to_the_last_sample(drift, mode):
    """Every file this environment runs, streamed over the whole series in data units, against
    Keras's forecasts (model units, saved at export) turned into samples by hand."""
    values = np.load(drift / "windows.npz")["values"]
    ref = Reference.load(drift / "reference.npz")
    meta = json.loads((drift / "model.json").read_text())
    norm = meta["normalization"]
    window, scale, center = meta["window"], norm["scale"], norm["center"]
    for file, backend in runnable(drift, mode):
        m = open_model(drift / file, backend=backend)
        st = Stream(m)
        got = np.array([np.nan if p is None else p for p in (st.push(float(v)) for v in values)])
        assert np.isnan(got[:window]).all() and not np.isnan(got[window:]).any()
        # push i (i >= window) forecasts sample i + 1 from the steps up to values[i]
        keras_steps = ref.stream[window - 1 : -1] if mode == "step" else ref.window
        want = values[len(values) - len(keras_steps) - 1 : -1] + keras_steps * scale + center
        dev = np.abs(got[-len(want) - 1 : -1] - want).max() / scale  # model units
        assert dev <= m.entry.info["parity"]["tolerance"], (file, backend, dev)


def test_predict_takes_one_sample_more_than_the_window(drift):
    m = open_model(drift, FLOAT, "window")
    values = np.load(drift / "windows.npz")["values"][:200]
    st = Stream(m)
    streamed = [st.push(float(v)) for v in values]
    windows = np.lib.stride_tricks.sliding_window_view(values, m.window + 1)
    np.testing.assert_allclose(m.predict(windows), streamed[m.window :], rtol=1e-9, atol=1e-12)
