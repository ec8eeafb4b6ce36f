"""A model of the next 4 samples: every file gives 4 outputs within its bound, Stream.push
returns the 4 forecasts Keras made, `stream` prints them (test_serve: `serve` publishes them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.forecaster import open_model
from runtime.parity import REFERENCE, Reference, check
from runtime.stream import Stream
from tests.conftest import run_module
from tests.runtime.conftest import FLOAT, manifest_files, runnable

HORIZON = 4


def test_every_file_holds_its_bound_on_every_output(horizon_dir):
    manifest = json.loads((horizon_dir / "manifest.json").read_text())
    assert manifest["model"]["horizon"] == HORIZON
    assert {f["variant"] for f in manifest["files"]} >= {"float32", "int8", "onnx", "numpy"} | {
        "c_float32", "c_int8", "c_integer"
    }  # fmt: skip
    assert [f["file"] for f in manifest["failed"]] == []
    ref = Reference.load(horizon_dir / REFERENCE)
    assert ref.window.shape == (len(ref.x_test), HORIZON)
    assert ref.stream.shape == (len(ref.series), HORIZON)
    entries = {f["file"]: f for f in manifest_files(horizon_dir)}
    for file, backend in runnable(horizon_dir):
        model = open_model(horizon_dir / file, backend=backend)
        entry = entries[file]
        parity, _, pred = check(model, ref, entry["parity"]["tolerance"], entry["fixed_range"])
        assert pred.shape[1:] == (HORIZON,), file
        assert parity.passed, (file, backend, parity)


def keras_forecasts(folder: Path, mode: str) -> tuple[np.ndarray, list]:
    """Samples, and the forecasts Keras made at export after each (data units; None where a
    window is not yet in), from reference.npz: the step model's over the whole stream, the
    window model's on the test windows."""
    values = np.load(folder / "windows.npz")["values"]
    ref = Reference.load(folder / REFERENCE)
    norm = open_model(folder).norm
    want: list = [None] * len(values)
    if mode == "step":
        for t, y in enumerate(ref.stream):  # after input t, that is sample t + lead
            want[t + norm.lead] = norm.forecast(y, values[t + norm.lead])
    else:
        first = len(values) - len(ref.window) - HORIZON  # the last sample of the first window
        for j, y in enumerate(ref.window):
            want[first + j] = norm.forecast(y, values[first + j])
    return values, want


@pytest.mark.parametrize("mode", ["window", "step"])
def test_stream_push_returns_the_forecasts_keras_made(horizon_dir, mode):
    values, want = keras_forecasts(horizon_dir, mode)
    st = Stream(open_model(horizon_dir, variant=FLOAT, mode=mode))
    got = [st.push(v) for v in values]
    ready = st.model.window + st.model.norm.lead - 1  # the sample after which it first forecasts
    compared = 0
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if i < ready:
            assert g is None
            continue
        assert g.shape == (HORIZON,)
        if w is not None:  # within the float32 file's bound (1e-5 model units), in data units
            assert np.abs(g - w).max() <= 1e-5 * st.model.norm.output_scale, i
            compared += 1
    assert compared > 100
    assert st.forecast is got[-1] and st.prediction == pytest.approx(got[-2][0])


def test_stream_prints_the_forecasts_as_columns_and_lists(horizon_dir, tmp_path):
    values = np.load(horizon_dir / "windows.npz")["values"][:80]
    (tmp_path / "in.txt").write_text("\n".join(map(repr, values.tolist())) + "\n")
    args = ["stream", "--model", str(horizon_dir), "--input", str(tmp_path / "in.txt")]
    csv = run_module("runtime", *args).stdout.splitlines()
    lines = run_module("runtime", *args, "--format", "jsonl").stdout.splitlines()
    model = open_model(horizon_dir)
    st = Stream(model)
    pushed = [st.push(v) for v in values]
    header = csv[0].split(",")
    assert header[-HORIZON:] == ["forecast", "forecast_2", "forecast_3", "forecast_4"]
    for row, line, want in zip(csv[1:], lines, pushed, strict=True):
        cells, record = row.split(","), json.loads(line)
        if want is None:
            assert record["forecast"] is None and cells[-HORIZON:] == [""] * HORIZON
        else:
            assert record["forecast"] == want.tolist()  # to the bit, as JSON carries them
            assert [float(c) for c in cells[-HORIZON:]] == pytest.approx(want, rel=1e-5)
