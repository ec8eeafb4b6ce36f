"""The exported variants and their parity bounds: the one place tolerances live."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One exported file: its format, quantization and the bound on max |deviation from Keras|."""

    name: str
    format: str  # "tflite" | "onnx"
    filename: str
    tolerance: float  # max absolute deviation from Keras, in normalized model units
    about: str
    # Windows per invoke: TFLite window files keep their LSTM loop at batch 1, and dynamic-range
    # ONNX quantizes activations over the whole batch, so a forecast would depend on its batch
    # companions. None: any batch.
    max_batch: int | None = 1


VARIANTS: tuple[Variant, ...] = (
    Variant("float32", "tflite", "model_float32.tflite", 1e-5, "TFLite float32"),
    Variant("float16", "tflite", "model_float16.tflite", 1e-3, "TFLite float16 weights"),
    Variant(
        "dynamic_int8",
        "tflite",
        "model_dynamic_int8.tflite",
        1e-2,
        "TFLite dynamic-range int8 weights (loads in tflite-runtime 2.14)",
    ),
    Variant(
        "int8",
        "tflite",
        "model_int8.tflite",
        5e-2,
        "TFLite full-integer int8, int8 input and output, calibrated on training windows",
    ),
    Variant("onnx", "onnx", "model.onnx", 1e-5, "ONNX float32 (tf2onnx)", max_batch=None),
    Variant(
        "onnx_dynamic_int8",
        "onnx",
        "model_dynamic_int8.onnx",
        1e-2,
        "ONNX dynamic int8 (onnxruntime quantize_dynamic)",
    ),
)
BY_NAME = {v.name: v for v in VARIANTS}
