"""The parity gate, the manifest and the report, on real exported models."""

from __future__ import annotations

import hashlib
import json
import shutil

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from export.kept import keep_earlier
from export.variants import BY_KEY, VARIANTS
from runtime.anomaly import THRESHOLD
from runtime.manifest import find_entry, variant_key, verify
from tests.conftest import run_here
from tests.make_artifacts import MODELS

pytestmark = pytest.mark.tensorflow


def sha256_of(path):
    """The reference digest: OpenSSL's, through hashlib (the runtime uses CPython's own)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(params=list(MODELS))
def model_dir(request, test_artifacts):
    folder = test_artifacts / request.param
    if not folder.is_dir():
        pytest.skip(f"no test model {request.param} (see tests/make_artifacts.py)")
    return folder


def test_every_variant_is_exported_within_its_bound(model_dir):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["failed"] == []
    keys = [variant_key(f["variant"], f["mode"]) for f in manifest["files"]]
    assert sorted(keys) == sorted(BY_KEY)
    for key, f in zip(keys, manifest["files"], strict=True):
        assert f["parity"]["passed"], f
        assert f["parity"]["max_abs"] <= BY_KEY[key].tolerance
        assert f["parity"]["tolerance"] == BY_KEY[key].tolerance
        assert f["sha256"] == sha256_of(model_dir / f["file"])
        assert f["bytes"] == (model_dir / f["file"]).stat().st_size
    assert manifest["model_json"]["sha256"] == sha256_of(model_dir / "model.json")
    assert manifest["reference"]["sha256"] == sha256_of(model_dir / "reference.npz")


def test_a_model_on_the_int8_grid_keeps_its_onnx_int8_weights_exact(test_artifacts):
    """lstm2's training put its large matrices on the int8 grid (their rounding moved forecasts
    past the budget): its ONNX int8-weights file stores them with that grid's one scale, as the C
    int8 source does, not one per channel that would round them again (2.0e-3 from Keras that
    way), so it forecasts as the float32 ONNX file does."""
    folder = test_artifacts / "lstm2"
    assert json.loads((folder / "model.json").read_text())["rounding"]["on_grid"]
    files = {f["file"]: f for f in json.loads((folder / "manifest.json").read_text())["files"]}
    assert files["model_dynamic_int8.onnx"]["parity"]["max_abs"] <= BY_KEY["onnx"].tolerance


def test_parity_recomputed_from_keras_and_litert_directly(model_dir):
    """Without the runtime package: Keras against the raw interpreter on every TFLite file.

    Full int8 files are held where every sample of the window lies within the training range
    + 10%; the gate reports the others, not holds them."""
    w = np.load(model_dir / "windows.npz")
    x = w["test_x"]
    in_range = np.abs(x).max(axis=(1, 2)) <= 1.1
    reference = keras.saving.load_model(model_dir / "model.keras").predict(x, verbose=0)
    manifest = {
        f["file"]: f for f in json.loads((model_dir / "manifest.json").read_text())["files"]
    }
    for v in VARIANTS:
        if v.format != "tflite" or v.mode != "window":
            continue
        it = Interpreter(model_path=str(model_dir / v.filename))
        it.allocate_tensors()
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        pred = []
        for window in x:
            if inp["dtype"] != np.float32:  # int8, or int16 where 8 bits could not hold
                s, z = inp["quantization"]
                q = np.iinfo(inp["dtype"])
                window = np.clip(np.round(window / s) + z, q.min, q.max).astype(inp["dtype"])
            it.set_tensor(inp["index"], window[None])
            it.invoke()
            y = it.get_tensor(out["index"]).astype(np.float64)
            if out["dtype"] != np.float32:
                s, z = out["quantization"]
                y = (y - z) * s
            pred.append(y.reshape(-1))  # one output, or one per sample ahead
        max_abs = np.max(np.abs(np.array(pred) - reference)[in_range if v.fixed_range else ...])
        assert max_abs <= v.tolerance, v.name
        assert max_abs == pytest.approx(
            manifest[v.filename]["parity"]["max_abs"], rel=1e-3, abs=1e-7
        )


def test_manifest_describes_what_the_runtime_needs(test_artifacts):
    manifest = json.loads((test_artifacts / "lstm" / "manifest.json").read_text())
    meta = json.loads((test_artifacts / "lstm" / "model.json").read_text())
    assert manifest["model"]["window"] == meta["window"] == 50
    assert manifest["model"]["normalization"] == meta["normalization"]
    files = {f["variant"]: f for f in manifest["files"] if f["mode"] == "window"}
    steps = {f["variant"]: f for f in manifest["files"] if f["mode"] == "step"}
    assert steps["int8"]["step"]["state_names"] == ["h0", "c0"]
    assert steps["float32"]["step"]["state_sizes"] == [50, 50]
    assert steps["float32"]["max_batch"] is None and files["float32"]["max_batch"] == 1
    # trained on np.sin(np.linspace(0, 100, 1000)): a period of 2 pi / (100 / 999) samples
    period = round(2 * np.pi * 999 / 100)
    anomaly = manifest["model"]["anomaly"]
    assert {k: anomaly[k] for k in ("threshold", "period")} == {
        "threshold": THRESHOLD,
        "period": period,
    }
    # the range of the samples training saw: the sine's, up to its test part
    values = np.load(test_artifacts / "lstm" / "windows.npz")["values"]
    trained = values[: meta["data"]["test_start"]]
    assert anomaly["range"] == [float(trained.min()), float(trained.max())]
    assert files["int8"]["inputs"][0]["dtype"] == "int8"
    assert files["int8"]["inputs"][0]["scale"] > 0
    assert files["float32"]["inputs"][0]["shape"] == [1, 50, 1]
    assert files["onnx"]["inputs"][0]["shape"] == [-1, 50, 1]
    # tflite-runtime 2.14 must be able to run the dynamic-range file (FULLY_CONNECTED v9, not v12)
    assert files["dynamic_int8"]["min_runtime_version"] == "2.3.0"
    assert all("min_runtime_version" in f for f in manifest["files"] if f["format"] == "tflite")


def test_step_files_are_made_from_the_weights_tuned_for_streaming(test_artifacts):
    """Step files follow stream.keras, not the window model; the manifest says which
    mode forecasts better, and the runtime runs that one by default."""
    from export.step import sequence_model
    from runtime import open_model

    folder = test_artifacts / "lstm"
    manifest = json.loads((folder / "manifest.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    model = manifest["model"]
    assert model["step_weights"] == "stream.keras"
    assert model["test_mse"] == report["keras_test_mse"]
    assert model["best_mode"] == min(model["test_mse"], key=model["test_mse"].get)
    series = np.load(folder / "windows.npz")["series"][:300]
    stream = open_model(folder, "float32", "step").run_stream(series)
    for name, near in (("stream.keras", True), ("model.keras", False)):
        seq = sequence_model(keras.saving.load_model(folder / name, compile=False))
        want = seq.predict(series[None, :, None], verbose=0).reshape(-1)
        assert (np.abs(stream - want).max() <= 1e-5) == near, name
    assert open_model(folder).mode == model["best_mode"]


def test_report_shows_every_file_with_its_bound(test_artifacts):
    folder = test_artifacts / "lstm"
    report = json.loads((folder / "report.json").read_text())
    assert [r["file"] for r in report["files"]] == [v.filename for v in VARIANTS]
    int8 = next(r for r in report["files"] if r["variant"] == "int8")
    assert int8["max_abs"] <= int8["tolerance"] == 5e-2
    md = (folder / "report.md").read_text()
    assert "| model_int8.tflite | window |" in md and "| 5e-02 |" in md
    assert "Keras test MSE: window mode" in md and "| step_int8.tflite |" in md
    # what each file takes and gives: a full-integer file's own types, from its manifest entry
    entry = next(f for f in json.loads((folder / "manifest.json").read_text())["files"]
                 if f["file"] == "model_int8.tflite")  # fmt: skip
    dtype, bits = entry["inputs"][0]["dtype"], entry["activation_bits"]
    assert f"| {dtype} in, {dtype} out, {bits}-bit activations | pass |" in md
    assert (folder / "report.png").stat().st_size > 10_000


def test_a_tightened_bound_fails_the_gate_and_still_writes_everything(test_artifacts, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(test_artifacts / "lstm", folder)
    (folder / "manifest.json").unlink()
    args = ["--variants", "float32,onnx", "--modes", "window", "--tolerance", "float32=1e-12"]
    res = run_here("export", "--dir", str(folder), *args)
    assert res.returncode == 1
    assert "model_float32.tflite misses its parity bound" in res.stderr
    assert "misses its parity bound 1e-12: max |dev|" in res.stderr
    assert "model.onnx" not in res.stderr  # only the failing file is named
    manifest = json.loads((folder / "manifest.json").read_text())
    verdict = {f["variant"]: f["parity"]["passed"] for f in manifest["files"]}
    assert verdict == {"float32": False, "onnx": True}
    assert "**FAILED**" in (folder / "report.md").read_text()


def test_exporting_some_variants_keeps_the_other_files_of_the_same_model(test_artifacts, tmp_path):
    """`--variants` refreshes the files it names; the earlier export's other files (the other C
    sources and their headers too) stay listed and usable, unless the model was retrained."""
    folder = tmp_path / "gru"
    shutil.copytree(test_artifacts / "gru", folder)
    before = json.loads((folder / "manifest.json").read_text())
    res = run_here("export", "--dir", str(folder), "--variants", "c_integer", "--modes", "step")
    assert res.returncode == 0, res.stderr
    after = json.loads((folder / "manifest.json").read_text())
    assert sorted(f["file"] for f in after["files"]) == sorted(f["file"] for f in before["files"])
    for info in after["files"]:
        verify(find_entry(folder / info["file"]))
    (folder / "model.json").write_text((folder / "model.json").read_text() + "\n")  # retrained
    assert keep_earlier(folder, tmp_path / "staging", set()) == ([], [])


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_model_is_a_clear_error(test_artifacts, tmp_path, damage):
    folder = tmp_path / "m"
    shutil.copytree(test_artifacts / "lstm", folder)
    if damage == "missing":
        (folder / "model.keras").unlink()
    else:
        (folder / "model.keras").write_bytes(b"not a keras archive")
    res = run_here("export", "--dir", str(folder), "--variants", "float32", "--modes", "window")
    assert res.returncode == 2
    assert "model.keras" in res.stderr and "train" in res.stderr
    assert "Traceback" not in res.stderr


def test_without_a_c_compiler_the_c_files_are_skipped_not_failed(
    test_artifacts, tmp_path, monkeypatch
):
    folder = tmp_path / "lstm"
    folder.mkdir()
    for name in ("model.keras", "stream.keras", "model.json", "windows.npz"):
        shutil.copy(test_artifacts / "lstm" / name, folder / name)
    monkeypatch.setenv("CC", "/nonexistent/cc")  # read when the export looks for a compiler
    args = ["--variants", "float32,c_float32", "--modes", "step"]
    res = run_here("export", "--dir", str(folder), *args)
    assert res.returncode == 0, res.stderr
    assert "c/forecaster_float32.c" in res.stdout and "skipped: no C compiler" in res.stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [f["file"] for f in manifest["files"]] == ["step_float32.tflite"]
    assert manifest["failed"] == [] and not (folder / "c").exists()
    assert "skipped: no C compiler" in (folder / "report.md").read_text()
