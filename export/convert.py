"""One conversion in a process of its own: `python -m export.convert VARIANT ARTIFACTS OUT`.

The parent runs each variant this way because int8 calibration can kill the whole process.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from . import onnx, tflite
from .variants import BY_NAME


def convert_to(variant: str, artifacts: Path, out: Path) -> None:
    """Write the file for `variant` of artifacts/model.keras to `out`."""
    model = keras.saving.load_model(artifacts / "model.keras", compile=False)
    fmt = BY_NAME[variant].format
    if fmt == "tflite":
        calib_x = np.load(artifacts / "windows.npz")["calib_x"]
        out.write_bytes(tflite.convert(model, variant, calib_x))
    elif variant == "onnx":
        out.write_bytes(onnx.convert(model))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "float.onnx"
            src.write_bytes(onnx.convert(model))
            onnx.quantize_dynamic(src, out)


if __name__ == "__main__":
    convert_to(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
