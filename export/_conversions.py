"""Conversions in a child process, one file per request: `python -m export._conversions
ARTIFACTS`, private: export/converter.py starts it.

The parent (export/converter.py) converts this way because int8 calibration can kill the whole
process; the child stays up between files, so TensorFlow's import is paid once per export.
Requests on stdin, one per line: "KEY<tab>RECIPE<tab>OUT" (RECIPE empty: the variant's first).
Answers on the original stdout, one per line: "note: ..." lines, then "ok" or "error: WHY".
Everything else the converters print goes to stderr.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from runtime import cells as numpy_cells
from runtime.windows import per_output
from training import stress
from training.files import step_weights_file
from training.snap import INT8_MIN_ELEMENTS

from . import cells, onnx, rounding, step, tflite
from .variants import (
    BY_KEY,
    COLUMN_SCALES,
    DENSE,
    GPTQ,
    KERAS_CELLS,
    PER_CHANNEL,
    SPLIT_INPUT,
    TWO_PASS,
    UNROLLED,
    WIDE,
    WIDE_RANGE,
    Variant,
)

CALIBRATION_STEPS = 1000  # stream steps whose states calibrate a step model, evenly spaced
# Room for states beyond those calibration reached (stressed windows drive the cell state past
# the training data's range); more room costs the states' resolution on ordinary streams.
STATE_HEADROOM = 1.5
STRESS_WINDOWS = 200  # stretched and scaled training windows among a step model's calibration
# An 8-bit window file must hold this fraction of its bound on the training windows, or 16-bit
# activations are tried: test and stress deviations run higher than the training windows'.
WIDE_ABOVE = 2 / 3
DENSE_STRETCH = 3  # stretched calibration windows per training one, by the DENSE recipe


def convert_to(
    key: str, artifacts: Path, out: Path, recipe: str = "", note: Callable[[str], None] = print
) -> None:
    """Write the file of variant `key` of artifacts/model.keras to `out` by `recipe` (one of the
    variant's, or its first); `note` says what the conversion chose."""
    variant = BY_KEY[key]
    recipe = recipe or (variant.recipes or ("",))[0]
    source = step_weights_file(artifacts) if variant.mode == "step" else artifacts / "model.keras"
    model = keras.saving.load_model(source, compile=False)
    if variant.format == "numpy":
        return numpy_weights(model, variant.mode, out)
    windows = np.load(artifacts / "windows.npz")
    train = windows["series"][: -len(windows["test_y"])]  # what training saw
    if recipe in (GPTQ, TWO_PASS, COLUMN_SCALES):  # the converter stores them as they are
        gptq_onto_grid(model, train, GRIDS[variant.format, variant.quant])
    if variant.mode == "step":
        model, representative = step_calibration(model, windows, train, variant, recipe)
    else:
        if recipe == TWO_PASS:  # its products as the step file's two-pass cells make them
            model = cells.fused_clone(model, step.rnn_layers(model), two_pass=True, batch1=True)
        if variant.quant == "int8":
            out.write_bytes(int8_window(model, windows, train, variant, recipe, note))
            return
        if variant.name.endswith("_unrolled"):
            model = tflite.unrolled_clone(model)
        elif variant.format == "tflite" and recipe != TWO_PASS:
            model = tflite.batch1_clone(model)
        calib = windows["calib_x"].astype(np.float32)
        representative = lambda: ([w[None]] for w in calib)  # noqa: E731
    out.write_bytes(converted(model, variant, representative, recipe == PER_CHANNEL))


def step_calibration(
    model: keras.Model, windows: dict, train: np.ndarray, variant: Variant, recipe: str
) -> tuple[keras.Model, Callable]:
    """The step model for `recipe` and its calibration: long streams for the states deep in a
    stream; stressed windows, each from a zero state, for those the gate's stress set reaches
    (EC2: |c| 2.3 there, 1.4 in streams)."""
    window = windows["calib_x"].shape[1]
    ends = np.linspace(window, len(train) - 1, STRESS_WINDOWS).astype(int)
    stressed = stress.stretched_windows(train, ends, window)[..., 0]
    streams = [train, *stress.stretched_streams(train), stressed]
    fused = variant.quant == "int8" and recipe not in (KERAS_CELLS, PER_CHANNEL, SPLIT_INPUT)
    stepper = step.step_model(model, fused, recipe == TWO_PASS, recipe == SPLIT_INPUT)
    representative = lambda: iter(  # noqa: E731
        step.calibration_inputs(model, streams, CALIBRATION_STEPS, STATE_HEADROOM)
    )
    return stepper, representative


def int8_window(
    model: keras.Model, windows: dict, train: np.ndarray, variant: Variant, recipe: str, note
) -> bytes:
    """The full-integer window file: calibrated on the training windows and stretched copies."""
    calib = windows["calib_x"].astype(np.float32)
    window = calib.shape[1]
    stretched = len(calib) * (DENSE_STRETCH if recipe in (DENSE, PER_CHANNEL) else 1)
    ends = np.linspace(window, len(train) - 1, stretched).astype(int)
    calib = np.concatenate([calib, stress.stretched_windows(train, ends, window)])
    reach = stress.EDGE * (2 if recipe in (WIDE_RANGE, WIDE, DENSE, PER_CHANNEL, UNROLLED) else 1)
    wide_only = recipe in (WIDE, DENSE, PER_CHANNEL, UNROLLED)
    per_channel = recipe == PER_CHANNEL
    if recipe == UNROLLED:  # its own cells: no fused form beside them
        model = cells.fused_clone(model, step.rnn_layers(model), split_input=True, unroll=True)
    return best_int8_window(
        model, calib, variant.tolerance, note, wide_only, reach, per_channel, recipe != UNROLLED
    )


def converted(
    model: keras.Model, variant: Variant, representative: Callable, per_channel: bool = False
) -> bytes:
    """The TFLite or ONNX file of `model` for the variant (int8 weights with a scale per output
    channel if per_channel)."""
    if variant.format == "tflite":
        # A forecast may go beyond the inputs' range: sensor's stressed step windows reached
        # -1.32 and a +-1.18 output clipped them (0.15 off). 16 bits cover twice the margin
        # at a step of 7e-5; 8 bits keep +-EDGE (widening costs every forecast resolution).
        reach = stress.EDGE * (2 if variant.activation_bits == 16 else 1)
        edges = (-reach, reach)
        bits = variant.activation_bits
        return tflite.convert(model, variant.quant, representative, edges, bits, per_channel)
    if variant.name == "onnx":
        return onnx.convert(model)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(onnx.convert(model))
        onnx.quantize_weights(src, dst)
        return dst.read_bytes()


# The grid each format's converter stores a quantization's weights on (gptq_onto_grid)
GRIDS = {
    ("tflite", "float16"): "float16",
    ("tflite", "dynamic_int8"): "int8",
    ("onnx", "onnx_dynamic_int8"): "int8 columns",
}
ONNX_MIN_ELEMENTS = 64  # export/onnx.py leaves smaller weights in float


def gptq_onto_grid(model: keras.Model, train: np.ndarray, precision: str) -> None:
    """Round the weights a file stores in `precision` by GPTQ on the states the training series
    drives them with, so the converter stores them as they are: int8, those a dynamic-range file
    quantizes (INT8_MIN_ELEMENTS or more) on its grid (max |w| / 127 per tensor); int8 columns,
    those the ONNX file quantizes, on its grid (max |w| / 127 per output column); float16, every
    matrix whose inputs are states (the recurrent kernels, the kernels above, the head)."""
    named = zip(step.state_names(model), step.stream_states(model, train), strict=True)
    h = [s for name, s in named if name.startswith("h")]
    for i, layer in enumerate(step.rnn_layers(model)):
        kernel, recurrent, *rest = layer.get_weights()
        inputs = [h[i - 1] if i else None, h[i]]
        pairs = zip((kernel, recurrent), inputs, strict=True)
        layer.set_weights([_on_grid(w, x, precision) for w, x in pairs] + rest)
    if precision == "float16":
        head = model.layers[-1]
        head.set_weights(
            [_on_grid(head.get_weights()[0], h[-1], precision), *head.get_weights()[1:]]
        )


def _on_grid(w: np.ndarray, inputs: np.ndarray | None, precision: str) -> np.ndarray:
    """w rounded by GPTQ: to float16 values, or onto its per-tensor int8 grid with its largest
    element kept at 127 steps (the converter's step); w itself where nothing multiplies states
    or the converter leaves it in float."""
    smallest = {"int8": INT8_MIN_ELEMENTS, "int8 columns": ONNX_MIN_ELEMENTS}.get(precision, 0)
    if inputs is None or w.size < smallest:
        return w
    if precision == "float16":
        return rounding.gptq_float16(w, inputs)
    columns = precision == "int8 columns"
    scale = rounding.scales(w, per_column=columns)
    q = rounding.gptq(w, scale, inputs)
    if columns:  # each column's largest element keeps 127 steps: the converter's scale
        top = np.argmax(np.abs(w), axis=0)
        q[top, np.arange(w.shape[1])] = 127 * np.sign(w[top, np.arange(w.shape[1])])
    else:
        top = np.unravel_index(np.argmax(np.abs(w)), w.shape)
        q[top] = 127 * np.sign(w[top])
    return (q * scale).astype(np.float32)


def numpy_weights(model: keras.Model, mode: str, out: Path) -> None:
    """The trained weights as runtime/cells.py reads them (Keras's layout, default activations)."""
    layers, dense = step.layer_weights(model)
    numpy_cells.save_weights(out, mode, model.input_shape[1], layers, dense)


def best_int8_window(
    model: keras.Model,
    calib: np.ndarray,
    tolerance: float,
    note: Callable[[str], None],
    wide_only: bool = False,
    reach: float = stress.EDGE,
    per_channel: bool = False,
    fused_too: bool = True,
) -> bytes:
    """The int8 window file closest to Keras on the calibration windows (training data: the test
    split plays no part): 8-bit activations from Keras's cells or the fused ones, and, when
    neither holds WIDE_ABOVE of the bound there, 16-bit activations from either if they do
    better (NAB's nyc_taxi: 0.176 with 8 bits, 0.068 from Keras's cells at 16, 0.003 fused).

    No 8-bit form wins everywhere (fused 0.025 vs Keras 0.034 on NAB ambient, 0.063 vs 0.046 on
    a two-layer LSTM of 16 units), and on some series none holds the bound (weather 0.076 on
    its test windows); 16 bits hold it there (6e-3) but run about 4x slower than float32, so
    they are the fallback, not the default. wide_only: 16 bits, nothing else tried; fused_too:
    the fused cells tried beside `model`'s. The forecast output represents at least +-reach.
    """
    probe = calib[:: max(1, len(calib) // 400)]
    reference = per_output(model.predict(probe, batch_size=256, verbose=0))
    representative = lambda: ([w[None]] for w in calib)  # noqa: E731
    edges = (-reach, reach)
    best, eight = None, None
    tries = [("Keras cells", model, 8), ("Keras cells, 16-bit", model, 16)]
    if fused_too:
        fused = cells.fused_clone(model, step.rnn_layers(model))
        tries = [tries[0], ("fused cells", fused, 8), tries[1], ("fused cells, 16-bit", fused, 16)]
    for label, m, bits in [t for t in tries if t[2] == 16] if wide_only else tries:
        if bits == 16 and eight is None and best is not None:
            eight = best[0]
            if eight <= WIDE_ABOVE * tolerance:
                break
            note(f"8 bits gave {eight:.3f} > {WIDE_ABOVE:.2f}x bound: 16 bits tried")
        try:
            content = tflite.convert(m, "int8", representative, edges, bits, per_channel)
        except Exception as e:  # the MLIR quantizer refuses a GRU's loop at 16 bits
            if bits == 8 or (best is None and label == tries[-1][0]):
                raise
            note(f"{label}: the converter failed ({type(e).__name__})")
            continue
        dev = float(np.abs(tflite.run_window_file(content, probe) - reference).max())
        note(f"{label}: max dev {dev:.3f} on training windows")
        if best is None or dev < best[0]:
            best = (dev, content)
    return best[1]


def serve(artifacts: Path) -> None:
    """Answer requests on stdin until it closes (the protocol is in the module's docstring)."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # native code's prints must not mix with the answers

    def say(line: str) -> None:
        answers.write(line.replace("\n", " ") + "\n")

    for request in sys.stdin:
        key, recipe, out = request.rstrip("\n").split("\t")
        try:
            convert_to(key, artifacts, Path(out), recipe, lambda s: say(f"note: {s}"))
        except Exception as e:  # any converter error fails this file, not the export
            first = (str(e).strip().splitlines() or [""])[0][:300]
            say(f"error: {type(e).__name__}: {first}")
        else:
            say("ok")


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
