"""Verified exported models with their normalization and quantization.

WindowModel runs window files (a window in, the next sample out); StepModel runs step files
(one sample and the recurrent state in, the next sample and the new state out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .anomaly import THRESHOLD
from .backends import TensorInfo, open_backend
from .errors import UserError
from .interpreters import TFLITE_BACKENDS, available, default_backend, version_of
from .manifest import MODES, Entry, check_runtime, find_entry, read_manifest, verify
from .windows import Normalization, per_output

# integer tensor types: their limits and numpy type
INTEGER = {"int8": (-128, 127, np.int8), "int16": (-32768, 32767, np.int16)}


def quantize(x: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Model units -> the input tensor's dtype (int8/int16 by scale and zero point, or float32)."""
    limits = INTEGER.get(info.dtype)
    if limits:
        lo, hi, kind = limits
        q = np.rint(x / info.scale) + info.zero_point
        return np.minimum(np.maximum(q, lo), hi).astype(kind)  # np.clip: 2 µs slower
    return x.astype(np.float32, copy=False)


def dequantize(q: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Output tensor -> model units (float tensors are returned as they are)."""
    if info.dtype in INTEGER:
        return (q.astype(np.float64) - info.zero_point) * info.scale
    return q


class LoadedModel:
    """An exported file, loaded only after its size, sha256 and runtime-version checks pass."""

    mode = ""

    def __init__(self, entry: Entry, backend: str | None = None, threads: int = 1) -> None:
        if entry.info.get("mode", "window") != self.mode:
            raise UserError(
                f"{entry.path.name} is a {entry.info.get('mode')} file, not a "
                f"{self.mode} file: pass mode={entry.info.get('mode')!r}"
            )
        verify(entry)
        name = backend or default_backend(entry.format)
        if name in TFLITE_BACKENDS and available(name):  # open_backend explains a missing one
            check_runtime(entry, name, version_of(name))
        self.entry = entry
        self.backend = open_backend(entry.path, entry.format, name, threads)
        self.window = int(entry.model["window"])
        self.horizon = int(entry.model.get("horizon", 1))  # samples forecast at once
        self.norm = Normalization.from_dict(entry.model["normalization"])
        # None: any batch. 1: one call per invoke (see export/variants.py for why).
        self.max_batch = entry.info.get("max_batch", 1)
        # the anomaly score from which a sample is an anomaly (runtime/anomaly.py)
        anomaly = entry.model.get("anomaly", {})
        self.anomaly_threshold = anomaly.get("threshold", THRESHOLD)
        self.anomaly_period = int(anomaly.get("period", 0))  # the series' season, 0: none
        # the samples' range in training (data units), if the export recorded it
        self.level_range: tuple[float, float] | None = (
            tuple(anomaly["range"]) if "range" in anomaly else self.norm.level_range()
        )

    @property
    def variant(self) -> str:
        """The manifest's variant name, e.g. float32 or int8."""
        return self.entry.variant


class WindowModel(LoadedModel):
    """A window file: the last `window` samples in, the next sample out."""

    mode = "window"

    def __init__(self, entry: Entry, backend: str | None = None, threads: int = 1) -> None:
        super().__init__(entry, backend, threads)
        self._in, self._out = self.backend.inputs[0], self.backend.outputs[0]
        if self._in.shape[1:] != (self.window, 1):
            raise UserError(
                f"{entry.path.name} takes input {self._in.shape}, but the manifest "
                f"says windows of {self.window}: re-export the model"
            )

    def predict_model_units(self, x: np.ndarray) -> np.ndarray:
        """Forecasts in model units for windows in model units, shape (n, window, 1) -> (n,),
        or (n, H) for a model of H samples ahead."""
        x = np.asarray(x).reshape(-1, self.window, 1)
        if self.max_batch is None:
            return per_output(dequantize(self.backend.run(quantize(x, self._in))[0], self._out))
        out = np.empty((len(x), self.horizon))
        for i in range(len(x)):
            q = self.backend.run(quantize(x[i : i + 1], self._in))[0]
            out[i] = dequantize(q, self._out).reshape(-1)
        return per_output(out)

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Next-sample forecasts in data units for windows in data units, (n, history) -> (n,)
        (or (n, H)): history is `window` samples, one more for a change model (its inputs are
        steps)."""
        windows = np.asarray(windows, dtype=np.float64)
        need = self.window + self.norm.lead
        if windows.shape[-1] == 1 and windows.ndim > 1 and windows.shape[-2] == need:
            windows = windows[..., 0]
        if windows.shape[-1] != need:
            raise UserError(f"windows must have {need} samples, got shape {windows.shape}")
        y = self.predict_model_units(self.norm.inputs(windows))
        return self.norm.forecast(y, windows.reshape(-1, need)[:, -1])


class StepModel(LoadedModel):
    """A step file: x_t and the state in, the forecast of x_{t+1} and the new state out."""

    mode = "step"

    def __init__(self, entry: Entry, backend: str | None = None, threads: int = 1) -> None:
        super().__init__(entry, backend, threads)
        io = entry.info["step"]
        # the file's tensors in meaning order: x then the states; y then the new states
        self._in = [self.backend.inputs[i] for i in io["inputs"]]
        self._out = [self.backend.outputs[i] for i in io["outputs"]]
        # which meaning (0 = x, 1.. = states) each of the file's inputs takes, in file order
        self._feed = [io["inputs"].index(k) for k in range(len(io["inputs"]))]
        self._y, self._states = io["outputs"][0], io["outputs"][1:]
        self.state_sizes = [int(n) for n in io["state_sizes"]]
        # The state is carried in the file's own tensor types. A new state goes straight back in
        # when its output and input share dtype and quantization (the converter calibrates both
        # on the same range): an int8 file then pays no conversion for it per step.
        self._same_state_types = all(
            (o.dtype, o.scale, o.zero_point) == (i.dtype, i.scale, i.zero_point)
            for i, o in zip(self._in[1:], self._out[1:], strict=True)
        )

    def zero_state(self, batch: int = 1) -> list[np.ndarray]:
        """The state before the first sample, in the file's tensor types."""
        return self.state_from_model_units([np.zeros((batch, n)) for n in self.state_sizes])

    def state_model_units(self, state: list[np.ndarray]) -> list[np.ndarray]:
        """A state as floats in model units (to save it, or to compare files)."""
        return [dequantize(s, info) for s, info in zip(state, self._in[1:], strict=True)]

    def state_from_model_units(self, values: list[np.ndarray]) -> list[np.ndarray]:
        """The inverse of state_model_units."""
        return [quantize(np.asarray(v), info) for v, info in zip(values, self._in[1:], strict=True)]

    def step_model_units(
        self, x: np.ndarray | float, state: list[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One step for a batch: x (batch,) in model units -> (forecast (batch,) or (batch, H),
        new state)."""
        values = (quantize(np.asarray(x, dtype=np.float32).reshape(-1, 1), self._in[0]), *state)
        outs = self.backend.run(*[values[k] for k in self._feed])
        new = [outs[i] for i in self._states]
        if not self._same_state_types:
            new = self.state_from_model_units(
                [dequantize(s, info) for s, info in zip(new, self._out[1:], strict=True)]
            )
        y = dequantize(outs[self._y], self._out[0])
        return (y[:, 0] if self.horizon == 1 else y), new  # per_output, without its cost per step

    def run_windows(self, windows: np.ndarray) -> np.ndarray:
        """The forecast after the last sample of each window (n, window[, 1]), each stepped
        through from a zero state: what a window file computes, as a batch of streams."""
        windows = np.asarray(windows).reshape(len(windows), -1)
        state = self.zero_state(len(windows))
        for t in range(windows.shape[1]):
            y, state = self.step_model_units(windows[:, t], state)
        return y

    def run_stream(self, series: np.ndarray) -> np.ndarray:
        """Forecasts after every sample of a model-units series, from a zero state (batch 1)."""
        state = self.zero_state()
        out = np.empty((len(series), self.horizon))
        for t, value in enumerate(series):
            y, state = self.step_model_units(np.array([value]), state)
            out[t] = y[0]
        return per_output(out)


# The file a forced interpreter runs for a precision asked of a folder (default float32): its
# own format's file of that precision, e.g. --backend c --variant int8 -> c/forecaster_int8.c.
FILE_OF = {
    "c": {"float32": "c_float32", "int8": "c_int8", "integer": "c_integer"},
    "numpy": {"float32": "numpy"},
    "onnxruntime": {"float32": "onnx", "dynamic_int8": "onnx_dynamic_int8"},
}


def open_model(
    path: str | Path,
    variant: str | None = None,
    mode: str | None = None,
    backend: str | None = None,
    threads: int = 1,
) -> WindowModel | StepModel:
    """A window or step forecaster: a file is what it is; a folder takes `mode`, by default the
    one the export found more accurate for this model (the manifest's best_mode)."""
    if mode not in (None, *MODES):
        raise UserError(f"unknown mode {mode!r}: choose {' or '.join(MODES)}")
    path = Path(path)
    if path.is_dir() and backend in FILE_OF:
        variant = FILE_OF[backend].get(variant or "float32", variant)
        mode = "step" if backend == "c" and mode is None else mode  # C files are step files
    if path.is_dir() and mode is None:
        manifest = read_manifest(path)
        mode = manifest["model"].get("best_mode", "window")
        if not any(f.get("mode", "window") == mode for f in manifest["files"]):
            mode = None  # only the other mode was exported
    entry = find_entry(path, variant, mode if path.is_dir() else None)
    cls = {"window": WindowModel, "step": StepModel}[mode or entry.info.get("mode", "window")]
    return cls(entry, backend, threads)  # a file of the other mode is refused with a clear message
