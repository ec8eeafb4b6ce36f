"""The runtime against the Keras reference, stream against batch, and the refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from runtime import Stream, UserError, open_model
from runtime.parity import REFERENCE, Reference
from tests.conftest import PYTHON, REPO

from .conftest import FLOAT, MODELS, TFLITE_BACKENDS, manifest_files, needs_tflite, runnable


@pytest.mark.parametrize("model", [*MODELS, "nab"])
def test_every_runnable_file_matches_keras_within_its_bound(test_artifacts, model):
    """Parity in this environment: the Keras predictions were saved at training time. A
    full-integer file is held where the gate holds it: on the windows within the range margin
    (NAB's test part leaves the training range; past the margin such a file saturates)."""
    folder = test_artifacts / model
    if not (folder / "manifest.json").is_file():
        pytest.skip(f"no {model} test model")  # NAB's data was not beside the repository
    w = np.load(folder / "windows.npz")
    within = Reference.load(folder / REFERENCE).test_held
    pairs = runnable(folder, "window")
    assert pairs, "this environment runs no exported file"
    for file, backend in pairs:
        f = open_model(folder / file, backend=backend)
        held = within if f.entry.info["fixed_range"] else slice(None)
        dev = np.abs(f.predict_model_units(w["test_x"]) - w["test_pred"])[held].max()
        assert dev <= f.entry.info["parity"]["tolerance"], (file, backend, dev)


def test_predict_works_in_data_units(lstm_dir, windows):
    f = open_model(lstm_dir, mode="window")  # a folder: float32 by default (numpy without TFLite)
    assert f.variant == FLOAT
    raw = f.norm.invert(windows["test_x"][:5, :, 0])
    np.testing.assert_allclose(f.predict(raw), f.norm.invert(windows["test_pred"][:5]), atol=1e-4)


@pytest.mark.parametrize("variant", [FLOAT, pytest.param("int8", marks=needs_tflite), "onnx"])
def test_stream_equals_batch_on_the_same_windows(lstm_dir, windows, variant):
    if variant == "onnx" and not any(b == "onnxruntime" for _, b in runnable(lstm_dir)):
        pytest.skip("onnxruntime is not in this environment")
    f = open_model(lstm_dir, variant, mode="window")
    series = f.norm.invert(windows["series"][-300:])
    stream = Stream(f)
    streamed = [stream.push(v) for v in series]
    assert streamed[: f.window - 1] == [None] * (f.window - 1)
    batch = f.predict(np.lib.stride_tricks.sliding_window_view(series, f.window))
    np.testing.assert_array_equal(np.array(streamed[f.window - 1 :]), batch)
    stream.reset()
    assert stream.push(series[0]) is None


@pytest.fixture
def copy_of_lstm(lstm_dir, tmp_path):
    folder = tmp_path / "a"
    shutil.copytree(lstm_dir, folder)
    return folder


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:1000]), "truncated"),
        (lambda p: p.write_bytes(p.read_bytes()[:-8] + b"\0" * 8), "does not match its sha256"),
        (lambda p: p.unlink(), "missing"),
        (lambda p: (p.parent / "manifest.json").unlink(), "no manifest.json"),
        (lambda p: (p.parent / "manifest.json").write_text("{"), "not readable JSON"),
    ],
)
def test_damaged_files_are_refused_before_loading(copy_of_lstm, damage, message):
    damage(copy_of_lstm / "model_float32.tflite")
    with pytest.raises(UserError, match=message):
        open_model(copy_of_lstm, "float32", mode="window")


def test_a_file_from_another_export_is_refused(test_artifacts, copy_of_lstm):
    shutil.copy(test_artifacts / "gru" / "model_float32.tflite", copy_of_lstm)
    with pytest.raises(UserError, match="from another export"):
        open_model(copy_of_lstm / "model_float32.tflite")


def test_a_file_not_in_the_manifest_is_refused(copy_of_lstm):
    shutil.copy(copy_of_lstm / "model_float32.tflite", copy_of_lstm / "other.tflite")
    with pytest.raises(UserError, match="not listed"):
        open_model(copy_of_lstm / "other.tflite")


@pytest.mark.skipif("tflite-runtime" not in TFLITE_BACKENDS, reason="needs tflite-runtime")
def test_tflite_runtime_refuses_a_file_that_needs_a_newer_runtime(copy_of_lstm):
    path = copy_of_lstm / "manifest.json"
    manifest = json.loads(path.read_text())
    for f in manifest["files"]:
        f["min_runtime_version"] = "2.17.0" if f["variant"] == "dynamic_int8" else None
    path.write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=r"needs a TFLite runtime >= 2\.17\.0.*pip install ai-edge"):
        open_model(copy_of_lstm, "dynamic_int8", "window", backend="tflite-runtime")


@pytest.mark.skipif("tflite-runtime" not in TFLITE_BACKENDS, reason="needs tflite-runtime")
def test_tflite_runtime_214_runs_every_tflite_file_it_is_offered(test_artifacts):
    """The classic Pi interpreter: its manifest check passes and the file really runs."""
    for model in MODELS:
        for f in manifest_files(test_artifacts / model):
            if f["format"] != "tflite":
                continue
            m = open_model(test_artifacts / model / f["file"], backend="tflite-runtime")
            if f["mode"] == "window":
                assert np.isfinite(m.predict_model_units(np.zeros((1, 50, 1)))).all()
            else:
                y, _ = m.step_model_units(np.zeros(3), m.zero_state(3))  # batch 3 too
                assert y.shape == (3,) and np.isfinite(y).all()


def test_runtime_never_imports_tensorflow(lstm_dir):
    code = f"""
import sys
from runtime import Stream, open_model
f = open_model({str(lstm_dir)!r}, {FLOAT!r}, mode="window")
s = Stream(f)
for i in range(60):
    s.push(float(i % 7) / 7)
import runtime.cli, runtime.serve.service
bad = sorted(m for m in sys.modules
             if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "training", "export"))
print(",".join(bad) or "clean")
"""
    res = subprocess.run([*PYTHON, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "clean"


def test_runtime_sources_import_nothing_from_training_or_export():
    for path in (REPO / "runtime").glob("*.py"):
        text = path.read_text()
        for name in ("tensorflow", "keras", "training", "export"):
            assert f"import {name}" not in text and f"from {name}" not in text, (path, name)


@pytest.mark.skipif("tflite-runtime" in TFLITE_BACKENDS, reason="tflite-runtime is installed")
def test_asking_for_tflite_runtime_where_it_is_missing_says_what_to_do(lstm_dir):
    """On Python 3.12+ (Raspberry Pi OS trixie: 3.13) no tflite-runtime wheel exists at all."""
    with pytest.raises(UserError) as e:
        open_model(lstm_dir, "float32", "window", backend="tflite-runtime")
    if sys.version_info >= (3, 12):
        assert "no wheel for Python 3.12 or later" in str(e.value)
        assert "pip install ai-edge-litert" in str(e.value)
    else:
        assert str(e.value).endswith("not installed: pip install tflite-runtime")
