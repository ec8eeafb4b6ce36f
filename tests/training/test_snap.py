"""Weights trained onto the compact files' grids: the converter stores them exactly."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow


def test_the_rounding_budget_is_half_the_bound_of_the_files_that_round_so():
    """training decides alone (no import of export), by budgets tied to the files' bounds."""
    from export.variants import BY_KEY
    from training.snap import ROUNDING_BUDGET

    for rounding, variant in (("int8", "dynamic_int8"), ("float16", "float16")):
        for key in (variant, f"step:{variant}"):
            assert ROUNDING_BUDGET[rounding] == BY_KEY[key].tolerance / 2


@pytest.mark.parametrize("scale", [1e-3, 0.3, 7.0])
def test_int8_grid_is_the_converters_step_and_exact_in_float16(scale):
    from training.snap import int8_grid

    w = (np.random.default_rng(0).normal(size=(32, 128)) * scale).astype(np.float32)
    g = int8_grid(w)
    step = np.float32(np.abs(g).max()) / np.float32(127)  # the converter's per-tensor scale
    k = g / step
    assert np.array_equal(k, np.round(k)) and np.abs(k).max() == 127
    assert np.array_equal(g.astype(np.float16).astype(np.float32), g)
    assert np.abs(g - w).max() <= 0.07 * np.abs(w).max()  # the largest moves most


def test_converted_files_hold_grid_weights_exactly():
    """A model trained on the grid: the dynamic-range step file's int8 kernel dequantizes to
    Keras's weights bit for bit, and the float16 file computes what the float32 file does."""
    from ai_edge_litert.interpreter import Interpreter

    from export.step import step_model
    from export.tflite import convert
    from training.config import TrainConfig
    from training.model import build_model
    from training.snap import hold_on_grid, large, release

    model = build_model(TrainConfig(window=10, units=32))
    hold_on_grid(model)
    release(model)
    (kernel,) = [v.numpy() for v in large(model)]  # the recurrent kernel, 32 x 128
    step = step_model(model)
    files = {q: convert(step, q, lambda: iter(())) for q in ("float32", "float16", "dynamic_int8")}

    dynamic = Interpreter(model_content=files["dynamic_int8"])
    (q,) = [t for t in dynamic.get_tensor_details() if t["dtype"] == np.int8]
    values = dynamic.get_tensor(q["index"]).astype(np.float32)
    dequantized = values * np.float32(q["quantization_parameters"]["scales"][0])
    assert np.array_equal(np.sort(dequantized.ravel()), np.sort(kernel.ravel()))

    rng = np.random.default_rng(1)
    runs = [Interpreter(model_content=files[name]) for name in ("float32", "float16")]
    for it in runs:
        it.allocate_tensors()
    for _ in range(8):  # random inputs and states in [-1, 1]
        inputs = {d["name"]: rng.uniform(-1, 1, d["shape"]) for d in runs[0].get_input_details()}
        outs = []
        for it in runs:
            for d in it.get_input_details():
                it.set_tensor(d["index"], inputs[d["name"]].astype(np.float32))
            it.invoke()
            outs.append(
                np.concatenate([it.get_tensor(d["index"]) for d in it.get_output_details()], axis=1)
            )
        assert np.abs(outs[0] - outs[1]).max() < 1e-6
