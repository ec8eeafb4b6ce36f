"""One conversion in a process of its own: `python -m export.convert KEY ARTIFACTS OUT`.

The parent runs each variant this way because int8 calibration can kill the whole process.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from . import onnx, step, tflite
from .variants import BY_KEY

CALIBRATION_STEPS = 1000  # stream samples whose states calibrate a step model


def convert_to(key: str, artifacts: Path, out: Path) -> None:
    """Write the file of variant `key` of artifacts/model.keras to `out`."""
    variant = BY_KEY[key]
    model = keras.saving.load_model(artifacts / "model.keras", compile=False)
    windows = np.load(artifacts / "windows.npz")
    if variant.mode == "step":
        train_part = windows["series"][: -len(windows["test_y"])][:CALIBRATION_STEPS]
        representative = lambda: iter(step.calibration_inputs(model_, train_part))  # noqa: E731
        model_, model = model, step.step_model(model)
    else:
        calib = windows["calib_x"].astype(np.float32)
        representative = lambda: ([w[None]] for w in calib)  # noqa: E731
        if variant.name.endswith("_unrolled"):
            model = tflite.unrolled_clone(model)
        elif variant.format == "tflite" and variant.name != "int8":
            model = tflite.batch1_clone(model)
    if variant.format == "tflite":
        out.write_bytes(tflite.convert(model, variant.quant, representative))
    elif variant.name == "onnx":
        out.write_bytes(onnx.convert(model))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "float.onnx"
            src.write_bytes(onnx.convert(model))
            onnx.quantize_dynamic(src, out)


if __name__ == "__main__":
    convert_to(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
