"""The exported variants and their parity bounds: the one place tolerances live."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.manifest import variant_key


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One exported file: format, quantization, mode and the bound on max |deviation from Keras|."""

    name: str  # the variant's name in the manifest (runtime.manifest.VARIANT_NAMES)
    mode: str  # "window": a whole window per call; "step": one sample and the state per call
    format: str  # "tflite" | "onnx" | "numpy" | "c"
    filename: str
    tolerance: float  # max absolute deviation from Keras, in normalized model units
    about: str
    # Calls per invoke: TFLite window files keep their LSTM loop at batch 1. None: any batch.
    max_batch: int | None = 1
    # Full-integer files map their input onto a calibrated range and saturate past it: the gate
    # holds them to the bound on inputs within the runtime's margin (and reports the rest).
    fixed_range: bool = False
    # int8 weights with 8- or 16-bit activations (TFLite's "16x8" mode; full int8 only)
    activation_bits: int = 8
    # The kernel family (FAMILIES): its recipes are this file's
    family: str = "float32"

    @property
    def recipes(self) -> tuple[str, ...]:
        """Ways to make the file, tried in turn until one holds the bound on the test inputs
        and the stress set (export/pipeline.py); the first is the default. Empty: one way."""
        return FAMILIES[self.family]

    @property
    def quant(self) -> str:
        """The quantization the converter applies: the name without a route suffix."""
        return self.name.removesuffix("_unrolled")

    @property
    def key(self) -> str:
        """Unique name: 'int8' for a window file, 'step:int8' for a step file."""
        return variant_key(self.name, self.mode)


_DYN = "dynamic-range int8 weights (loads in tflite-runtime 2.14)"
_NUMPY = (
    "the float32 weights, run by runtime/cells.py with numpy alone: where no interpreter wheel "
    "exists (32-bit Pi OS)"
)
_C = (
    "C99 source and header (c/forecaster.h) generated from the step weights: {}; no "
    "dependency beyond <math.h>, no allocation; the gate compiles it with the system C compiler"
)
_INT8 = (
    "full-integer int8, int8 inputs and outputs, calibrated on training data and its stretched "
    "copies out to the range margin; built from Keras's cells or fused ones, whichever is closer "
    "to Keras on training windows"
)

# Recipes (export/_conversions.py and export/c.py make them)
NEAREST = "rounded to nearest"
GPTQ = "GPTQ rounding on the stream's states"
AUTO_BITS = "8-bit activations, 16 where 8 miss on training windows"
WIDE_RANGE = "the same, the forecast's range doubled"
WIDE = "16-bit activations, the forecast's range doubled"
DENSE = "the same, calibrated on three times the stretched windows"
TWO_PASS = "GPTQ, each state multiplied twice: as it is, then its int8 rounding error"
COLUMN_SCALES = "GPTQ, a scale per column in every matrix (a one-row input kernel exact)"
FUSED = "fused cells"
KERAS_CELLS = "Keras's cells"
PER_CHANNEL = "the same, a scale per output channel in every weight matrix"
SPLIT_INPUT = "Keras's cells, an input kernel off the int8 grid in two parts (export/cells.py)"
UNROLLED = "16-bit activations, the loop unrolled, " + SPLIT_INPUT.removeprefix("Keras's cells, ")

# The recipes of each kernel family, in the order they are tried: cheapest first. Making the
# window dynamic-range file of a 10,451-parameter LSTM took 1.8-1.9 s rounded to nearest, 2.3-2.6
# s by GPTQ (the training stream's states, a solve per matrix), 2.4-2.9 s in two passes (GPTQ and
# a graph with twice the products), each measured twice in one converter process. A recipe found
# for one file is added here, to its family, so that every file of the family is offered it.
FAMILIES: dict[str, tuple[str, ...]] = {
    "float32": (),
    # float16 weights, float arithmetic
    "float16": (NEAREST, GPTQ),
    # int8 weights; the kernel rounds its float input to int8 at each call (TFLite dynamic range)
    "dynamic range": (NEAREST, GPTQ, TWO_PASS),
    # int8 weights, one scale per output column, float arithmetic (ONNX, the C int8 source). The
    # C source gives a one-row matrix (a first layer's input kernel) one scale, not a scale per
    # weight, unless asked: on ETTh2's oil temperature that one scale moved stressed forecasts
    # 1.1e-2 (ONNX keeps a scale per column everywhere: the last recipe is GPTQ again there)
    "int8 weights": (NEAREST, GPTQ, COLUMN_SCALES),
    # int8 weights, int16 fixed-point activations and state, integer arithmetic (the C source)
    "integer C": (NEAREST, GPTQ),
    # TFLite full integer: a window file's activations are 8 bits where they hold on training
    # windows, 16 where not, from the closer of Keras's and fused cells; a step file's state
    # needs 16 bits (with 8, a stream's state lost 0.06-0.22 on real series), so its ladder is
    # the cells alone. More stretched calibration windows reach states the stress set reaches and
    # fewer do not (Beijing's daily high: 8.7e-2 on one stressed window, 3.3e-2 with three times
    # as many), at three times the calibration's time. One scale per weight matrix rounds a
    # one-row input kernel (below training's int8 grid, training/snap.py) coarsely: on ETTh1's
    # 720-step model that alone moved stressed forecasts 8.5e-2; a scale per output channel
    # (larger files) is exact there, but rounds a recurrent kernel on training's int8 grid again.
    # The input kernel in two int8 parts keeps both: on half-hourly electricity demand (window
    # file 0.24 by every recipe before, 0.16 unrolled, 0.19 split) the two together gave 9.3e-3,
    # in an unrolled file (without a WHILE op: 8x the bytes) each step's ranges its own.
    "full integer window": (AUTO_BITS, WIDE_RANGE, WIDE, DENSE, PER_CHANNEL, UNROLLED),
    "full integer step": (FUSED, KERAS_CELLS, PER_CHANNEL, SPLIT_INPUT),
}

VARIANTS: tuple[Variant, ...] = (
    Variant(
        name="float32",
        mode="window",
        format="tflite",
        filename="model_float32.tflite",
        tolerance=1e-5,
        about="TFLite float32",
    ),
    Variant(
        name="float32_unrolled",
        mode="window",
        format="tflite",
        filename="model_float32_unrolled.tflite",
        tolerance=1e-5,
        about="TFLite float32, the loop unrolled: the fastest TFLite window file, any batch, "
        "about 3.5x the bytes",
        max_batch=None,
    ),
    Variant(
        name="float16",
        mode="window",
        format="tflite",
        filename="model_float16.tflite",
        tolerance=1e-3,
        about="TFLite float16 weights",
        family="float16",
    ),
    Variant(
        name="dynamic_int8",
        mode="window",
        format="tflite",
        filename="model_dynamic_int8.tflite",
        tolerance=1e-2,
        about=f"TFLite {_DYN}",
        family="dynamic range",
    ),
    Variant(
        name="int8",
        mode="window",
        format="tflite",
        filename="model_int8.tflite",
        tolerance=5e-2,
        about=f"TFLite {_INT8}",
        fixed_range=True,
        family="full integer window",
    ),
    Variant(
        name="onnx",
        mode="window",
        format="onnx",
        filename="model.onnx",
        tolerance=1e-5,
        about="ONNX float32 (tf2onnx)",
        max_batch=None,
    ),
    Variant(
        name="onnx_dynamic_int8",
        mode="window",
        format="onnx",
        filename="model_dynamic_int8.onnx",
        tolerance=1e-2,
        about="ONNX int8 weights (one scale per channel, DequantizeLinear), float arithmetic",
        max_batch=None,
        family="int8 weights",
    ),
    Variant(
        name="float32",
        mode="step",
        format="tflite",
        filename="step_float32.tflite",
        tolerance=1e-5,
        about="TFLite float32",
        max_batch=None,
    ),
    Variant(
        name="float16",
        mode="step",
        format="tflite",
        filename="step_float16.tflite",
        tolerance=1e-3,
        about="TFLite float16",
        max_batch=None,
        family="float16",
    ),
    Variant(
        name="dynamic_int8",
        mode="step",
        format="tflite",
        filename="step_dynamic_int8.tflite",
        tolerance=1e-2,
        about=f"TFLite {_DYN}",
        max_batch=None,
        family="dynamic range",
    ),
    Variant(
        name="int8",
        mode="step",
        format="tflite",
        filename="step_int8.tflite",
        tolerance=5e-2,
        about="TFLite full-integer, int8 weights with 16-bit activations and state (int16 "
        "inputs and outputs): with 8-bit ones a stream's state loses too much",
        max_batch=None,
        fixed_range=True,
        activation_bits=16,
        family="full integer step",
    ),
    Variant(
        name="onnx",
        mode="step",
        format="onnx",
        filename="step.onnx",
        tolerance=1e-5,
        about="ONNX float32 (tf2onnx)",
        max_batch=None,
    ),
    Variant(
        name="numpy",
        mode="window",
        format="numpy",
        filename="model_numpy.npz",
        tolerance=1e-5,
        about=_NUMPY,
        max_batch=None,
    ),
    Variant(
        name="numpy",
        mode="step",
        format="numpy",
        filename="step_numpy.npz",
        tolerance=1e-5,
        about=_NUMPY,
        max_batch=None,
    ),
    Variant(
        name="c_float32",
        mode="step",
        format="c",
        filename="c/forecaster_float32.c",
        tolerance=1e-5,
        about=_C.format("float32 weights and arithmetic"),
        max_batch=None,
    ),
    Variant(
        name="c_int8",
        mode="step",
        format="c",
        filename="c/forecaster_int8.c",
        tolerance=1e-2,
        about=_C.format("int8 weights, one scale per output column, float arithmetic"),
        max_batch=None,
        family="int8 weights",
    ),
    Variant(
        name="c_integer",
        mode="step",
        format="c",
        filename="c/forecaster_integer.c",
        tolerance=5e-2,
        about="C99 source and header (c/forecaster_integer.h) for chips without an FPU: int8 "
        "weights, int16 fixed-point activations and state, int32 sums, a sigmoid table; no float "
        "anywhere, nothing beyond <stdint.h>; held to the full-integer files' bound",
        max_batch=None,
        family="integer C",
    ),
)
BY_KEY = {v.key: v for v in VARIANTS}
