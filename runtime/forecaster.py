"""A verified exported model with its normalization and quantization: windows in, forecasts out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .backends import TensorInfo, default_backend, open_backend, version_of
from .errors import UserError
from .manifest import Entry, check_runtime, find_entry, verify
from .windows import Normalization


def quantize(x: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Model units -> the input tensor's dtype (int8 with scale and zero point, or float32)."""
    if info.dtype == "int8":
        return np.clip(np.round(x / info.scale) + info.zero_point, -128, 127).astype(np.int8)
    return x.astype(np.float32, copy=False)


def dequantize(q: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Output tensor -> model units (float64)."""
    if info.dtype == "int8":
        return (q.astype(np.float64) - info.zero_point) * info.scale
    return q.astype(np.float64)


class Forecaster:
    """One exported window model, loaded only after its file and runtime checks pass."""

    def __init__(self, entry: Entry, backend: str | None = None, threads: int = 1) -> None:
        verify(entry)
        name = backend or default_backend(entry.format)
        if name in ("litert", "tflite-runtime"):
            check_runtime(entry, name, version_of(name))
        self.entry = entry
        self.backend = open_backend(entry.path, entry.format, name, threads)
        self.window = int(entry.model["window"])
        self.norm = Normalization.from_dict(entry.model["normalization"])
        self._in, self._out = self.backend.inputs[0], self.backend.outputs[0]
        if self._in.shape[1:] != (self.window, 1):
            raise UserError(
                f"{entry.path.name} takes input {self._in.shape}, but the manifest "
                f"says windows of {self.window}: re-export the model"
            )
        # None: any batch. 1: one window per invoke (see export/variants.py for why).
        self.max_batch = entry.info.get("max_batch")

    @classmethod
    def load(
        cls,
        path: str | Path,
        variant: str | None = None,
        backend: str | None = None,
        threads: int = 1,
    ) -> Forecaster:
        """From a model file, or from an artifacts folder and a variant (default float32)."""
        return cls(find_entry(Path(path), variant, mode="window"), backend, threads)

    @property
    def variant(self) -> str:
        """The manifest's variant name, e.g. float32 or int8."""
        return self.entry.variant

    def predict_model_units(self, x: np.ndarray) -> np.ndarray:
        """Forecasts in model units for windows in model units, shape (n, window, 1) -> (n,)."""
        x = np.asarray(x).reshape(-1, self.window, 1)
        if self.max_batch is None:
            return dequantize(self.backend.run(quantize(x, self._in))[0], self._out).reshape(-1)
        out = np.empty(len(x))
        for i in range(len(x)):
            q = self.backend.run(quantize(x[i : i + 1], self._in))[0]
            out[i] = dequantize(q, self._out).item()
        return out

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Next-sample forecasts in data units for windows in data units, (n, window) -> (n,)."""
        windows = np.asarray(windows, dtype=np.float64)
        if windows.shape[-1] != self.window and windows.shape[-2:] != (self.window, 1):
            raise UserError(f"windows must have {self.window} samples, got shape {windows.shape}")
        return self.norm.invert(self.predict_model_units(self.norm.apply(windows)))
