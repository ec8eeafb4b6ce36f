"""A file whose first recipe misses its bound is made by the next; a crashed conversion costs
one file."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from export import rounding
from export.converter import Converter
from export.variants import (
    BY_KEY,
    GPTQ,
    KERAS_CELLS,
    NEAREST,
    PER_CHANNEL,
    SPLIT_INPUT,
    TWO_PASS,
    UNROLLED,
    VARIANTS,
)
from tests.conftest import run_here

pytestmark = pytest.mark.tensorflow

# NAB's machine temperature, trained on its first 750 samples (as the fleet table does; its
# target is the one the default, auto, keeps there, so the same weights for half the training):
# rounded to nearest, its C int8 weights miss the bound on the stream (2.5e-2 > 1e-2) and so do
# its float16 step weights (1.7e-3 > 1e-3); its full-integer step file from fused cells misses
# too (5.3e-2 > 5e-2), and its dynamic-range step file, rounded to nearest (4.7e-2) or by GPTQ
# (1.1e-2 > 1e-2), until the state is multiplied in two passes (3.1e-3). That is the model
# training made before it measured the files' rounding on stressed windows (training/streaming.py);
# with that measure, its stream tuning keeps one epoch and all four files hold by their first
# recipe, so the fixture lifts the budget to train the model whose files climb the ladder.
SERIES = (
    Path(__file__).resolve().parents[3]
    / "shared/nab/data/realKnownCause/machine_temperature_system_failure.csv"
)


@pytest.fixture(scope="module")
def hard_model(tmp_path_factory) -> Path:
    if not SERIES.is_file():
        pytest.skip(f"no {SERIES}")
    out = tmp_path_factory.mktemp("recipes") / "machine_temperature"
    with pytest.MonkeyPatch.context() as patch:  # run_here trains in this process
        patch.setattr("training.snap.ROUNDING_BUDGET", {"int8": np.inf, "float16": np.inf})
        res = run_here(
            "training", "--data", str(SERIES), "--column", "value", "--rows", "750",
            "--target", "change", "--out", str(out),
        )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return out


def test_a_file_whose_first_recipe_misses_is_made_by_the_next(hard_model):
    res = run_here(
        "export", "--dir", str(hard_model), "--variants", "int8,c_int8,float16,dynamic_int8",
        "--modes", "step",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "trying the next recipe" in res.stdout
    manifest = json.loads((hard_model / "manifest.json").read_text())
    entries = {f["file"]: f for f in manifest["files"]}
    for file, key, recipe in (
        ("c/forecaster_int8.c", "step:c_int8", GPTQ),
        ("step_int8.tflite", "step:int8", KERAS_CELLS),
        ("step_float16.tflite", "step:float16", GPTQ),
        ("step_dynamic_int8.tflite", "step:dynamic_int8", TWO_PASS),
    ):
        v, e = BY_KEY[key], entries[file]
        assert e["recipe"] == recipe and e["parity"]["passed"]
        assert max(e["parity"]["max_abs"], e["parity"]["stress_max_abs"]) <= v.tolerance
        # every recipe before it, in order, and how far each missed
        assert [t["recipe"] for t in e["tried"]] == list(v.recipes[: v.recipes.index(recipe)])
        for missed in e["tried"]:
            assert max(missed["max_abs"], missed["stress_max_abs"]) > v.tolerance
    report = (hard_model / "report.md").read_text()
    assert f"| c/forecaster_int8.c | {GPTQ} | rounded to nearest: " in report


def test_a_crashed_conversion_fails_its_file_and_the_next_one_converts(test_artifacts, tmp_path):
    """The child converting a file is killed: that file fails with the signal, the next file
    is converted by a new child, and nothing is left half-written."""
    variant = BY_KEY["step:float32"]
    with Converter(test_artifacts / "lstm") as converter:
        converter.start()
        child = converter.proc.pid
        threading.Timer(1.0, os.kill, (child, signal.SIGKILL)).start()  # while it imports
        error, _ = converter.convert(variant, tmp_path / "first.tflite")
        assert error == "the converter crashed (signal 9)"
        assert not (tmp_path / "first.tflite").exists()
        error, _ = converter.convert(variant, tmp_path / "second.tflite")
        assert error is None and converter.proc.pid != child
        assert (tmp_path / "second.tflite").stat().st_size > 10_000


def test_every_file_of_a_kernel_family_is_offered_the_recipes_of_its_family():
    """A recipe is added to a family, not to a file: the files of one kernel in either mode share
    one ladder (but the full-integer ones, whose step state needs 16-bit activations); every
    family of int8 weights rounds them both ways; every dynamic-range file multiplies in two
    passes."""
    families: dict[tuple[str, str], set[str]] = {}
    for v in VARIANTS:
        families.setdefault((v.format, v.quant), set()).add(v.family)
    split = {kernel: f for kernel, f in families.items() if len(f) > 1}
    assert split == {("tflite", "int8"): {"full integer window", "full integer step"}}
    int8_weights = [v for v in VARIANTS if v.family in ("dynamic range", "int8 weights")]
    assert {v.key for v in int8_weights} == {
        *("dynamic_int8", "step:dynamic_int8", "onnx_dynamic_int8", "step:c_int8"),
    }
    assert all(v.recipes[:2] == (NEAREST, GPTQ) for v in int8_weights)
    two_pass = {v.key for v in VARIANTS if TWO_PASS in v.recipes}
    assert two_pass == {"dynamic_int8", "step:dynamic_int8"}
    per_channel = {v.key for v in VARIANTS if PER_CHANNEL in v.recipes}
    assert per_channel == {"int8", "step:int8"}
    # the input kernel in two parts: in the window file's unrolled loop, as in the step file
    split_input = {v.key: v.recipes[-1] for v in VARIANTS if v.family.startswith("full integer")}
    assert split_input == {"int8": UNROLLED, "step:int8": SPLIT_INPUT}


def test_a_full_integer_file_per_channel_gives_a_one_row_kernel_a_scale_per_column(hard_model):
    """PER_CHANNEL, both full-integer families' last recipe: the converter, asked, stores the
    first layer's one-row input kernel with a scale per gate column; otherwise every weight
    matrix has one scale."""
    import keras

    from export import tflite

    model = keras.saving.load_model(hard_model / "model.keras")
    calib = np.load(hard_model / "windows.npz")["calib_x"][:50].astype(np.float32)
    scales = {}
    for per_channel in (False, True):
        content = tflite.convert(
            model, "int8", lambda: ([w[None]] for w in calib), per_channel=per_channel
        )
        scales[per_channel] = weight_scales(content)
    gates = 4 * model.layers[0].units
    assert set(scales[False].values()) == {1}
    assert scales[True][(gates, 1)] == gates


def weight_scales(content: bytes) -> dict[tuple, int]:
    """Each int8 weight matrix's shape in a TFLite file, and how many scales it has."""
    return {w.shape: scales for w, scales in int8_matrices(content)}


def int8_matrices(content: bytes) -> list[tuple[np.ndarray, int]]:
    """Each int8 weight matrix a TFLite file stores, and how many scales it has."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    return [
        (
            np.asarray(model.buffers[t.buffer].data, np.uint8).view(np.int8).reshape(t.shape),
            len(t.quantization.scale),
        )
        for g in model.subgraphs
        for t in g.tensors
        if t.type == schema.TensorType.INT8
        and len(t.shape) == 2
        and t.buffer
        and model.buffers[t.buffer].data is not None
    ]


@pytest.mark.parametrize("name", ["lstm", "lstm2", "gru"])
def test_split_input_cells_compute_the_layers_they_split(test_artifacts, name):
    """The full-integer files' last recipe rebuilds the layers with the first one's input kernel
    in two parts (export/cells.py): the window model (its loop unrolled) and the step model give
    Keras's forecasts, and the parts add up to the kernel, the first on one int8 scale."""
    import keras

    from export import cells, step

    folder = test_artifacts / name
    model = keras.saving.load_model(folder / "model.keras", compile=False)
    windows = np.load(folder / "windows.npz")["calib_x"][:64].astype(np.float32)
    layers = step.rnn_layers(model)
    kernel = layers[0].get_weights()[0]
    coarse, error = cells.input_parts(kernel)
    assert np.array_equal(coarse + error, kernel) and rounding.on_int8_grid(coarse)
    assert np.abs(error).max() <= np.abs(kernel).max() / 127 / 2 * (1 + 1e-6)

    clone = cells.fused_clone(model, layers, split_input=True, unroll=True)
    want = model.predict(windows, verbose=0)
    assert np.abs(clone.predict(windows, verbose=0) - want).max() < 1e-5
    keras_step, split_step = step.step_model(model), step.step_model(model, split_input=True)
    states = [np.zeros((len(windows), n), np.float32) for n in step.state_sizes(model)]
    probe = [windows[:, 0], *states]
    for got, ref in zip(split_step(probe), keras_step(probe), strict=True):
        assert np.abs(np.asarray(got) - np.asarray(ref)).max() < 1e-5


def test_the_unrolled_file_stores_the_input_kernel_in_two_int8_parts(test_artifacts):
    """What the window file's last recipe converts: no loop, the kernel's two parts."""
    import keras

    from export import cells, step, tflite

    model = keras.saving.load_model(test_artifacts / "lstm" / "model.keras", compile=False)
    calib = np.load(test_artifacts / "lstm" / "windows.npz")["calib_x"][:50].astype(np.float32)
    clone = cells.fused_clone(model, step.rnn_layers(model), split_input=True, unroll=True)
    content = tflite.convert(clone, "int8", lambda: ([w[None]] for w in calib), (-2, 2), 16)
    gates = 4 * model.layers[0].units
    from tensorflow.lite.python import schema_py_generated as schema

    kernels = [scales for w, scales in int8_matrices(content) if w.shape == (gates, 1)]
    assert kernels == [1, 1]  # each part once with its one scale, shared by the unrolled steps
    assert schema.Model.GetRootAsModel(content, 0).SubgraphsLength() == 1  # no WHILE op's body
