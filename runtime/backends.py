"""Interpreters behind one small interface: ai-edge-litert, tflite-runtime, onnxruntime, numpy
alone for the float32 weights files (runtime/cells.py) where no interpreter is installed, and the
system C compiler for the generated C files (export/c.py), called through ctypes.

Each backend is imported only when chosen, so a device needs just the one it uses.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import platform
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .interpreters import (
    BACKENDS,
    MODULES,
    available,
    backends_for,
    default_backend,
    install_hint,
    version_of,
)


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape, dtype and (scale, zero_point) of one model input or output."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C++ logging on fd 2 (e.g. LiteRT's 'Created XNNPACK delegate') while loading."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class TFLiteBackend:
    """A .tflite file on ai-edge-litert or tflite-runtime, one invoke per call."""

    def __init__(self, path: Path, name: str = "litert", threads: int = 1) -> None:
        interpreter = importlib.import_module(f"{MODULES[name]}.interpreter")
        self.name, self.version = name, version_of(name)
        with _quiet_stderr():
            try:
                self._it = interpreter.Interpreter(model_path=str(path), num_threads=threads)
                if self._needs_reference_kernels():
                    self._it = interpreter.Interpreter(
                        model_path=str(path),
                        num_threads=threads,
                        experimental_op_resolver_type=interpreter.OpResolverType.BUILTIN_REF,
                    )
                self._it.allocate_tensors()
            except (ValueError, RuntimeError) as e:
                raise UserError(
                    f"{self.name} {self.version} cannot load {path.name}: "
                    f"{str(e).strip().splitlines()[0]}. Re-export the model, or "
                    "install ai-edge-litert (pip install ai-edge-litert)"
                ) from None
        self.inputs = [_tflite_info(d) for d in self._it.get_input_details()]
        self.outputs = [_tflite_info(d) for d in self._it.get_output_details()]
        self._in = [d["index"] for d in self._it.get_input_details()]
        self._out = [d["index"] for d in self._it.get_output_details()]
        self._batch = self.inputs[0].shape[0]

    def _needs_reference_kernels(self) -> bool:
        """tflite-runtime 2.14's optimized int8 kernels crash (SIGSEGV in invoke) on arm64, seen
        under qemu on Cortex-A72 and A76 (make pi-check); its reference kernels run those files
        (and the 16-bit-activation ones, which use the same integer kernels)."""
        integer = any(
            np.dtype(d["dtype"]) in (np.int8, np.int16) for d in self._it.get_input_details()
        )
        return self.name == "tflite-runtime" and platform.machine() == "aarch64" and integer

    def _resize(self, batch: int) -> None:
        """Set the batch dimension of every input (only models without TensorList loops)."""
        for i, info in zip(self._in, self.inputs, strict=True):
            self._it.resize_tensor_input(i, (batch, *info.shape[1:]), strict=False)
        self._it.allocate_tensors()
        self.inputs = [_tflite_info(d) for d in self._it.get_input_details()]
        self.outputs = [_tflite_info(d) for d in self._it.get_output_details()]
        self._batch = batch

    def run(self, *feeds: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for raw inputs (the model's dtypes; the batch may change between calls)."""
        if len(feeds[0]) != self._batch:
            self._resize(len(feeds[0]))
        for i, x in zip(self._in, feeds, strict=True):
            self._it.set_tensor(i, x)
        self._it.invoke()
        return [self._it.get_tensor(i) for i in self._out]


class OnnxBackend:
    """An .onnx file on onnxruntime (dynamic batch)."""

    def __init__(self, path: Path, name: str = "onnxruntime", threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.name, self.version = "onnxruntime", ort.__version__
        try:
            self._sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception classes
            raise UserError(
                f"onnxruntime {self.version} cannot load {path.name}: "
                f"{str(e).strip().splitlines()[0]}. Re-export the model"
            ) from None
        self.inputs = [_onnx_info(t) for t in self._sess.get_inputs()]
        self.outputs = [_onnx_info(t) for t in self._sess.get_outputs()]
        self._names = [t.name for t in self.inputs]

    def run(self, *feeds: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for raw inputs."""
        return self._sess.run(None, dict(zip(self._names, feeds, strict=True)))


class NumpyBackend:
    """A weights file (.npz) run by runtime/cells.py with numpy alone (any batch)."""

    def __init__(self, path: Path, name: str = "numpy", threads: int = 1) -> None:
        from .cells import Recurrent

        self.name, self.version = "numpy", np.__version__
        try:
            self._model = Recurrent(path)
        except (OSError, ValueError, KeyError) as e:
            raise UserError(f"cannot load {path.name} ({e}): re-export the model") from None
        m = self._model
        if m.mode == "window":
            self.inputs = [TensorInfo("window", (-1, m.window, 1), "float32")]
            self.outputs = [TensorInfo("forecast", (-1, 1), "float32")]
        else:
            names, sizes = m.state_names(), m.state_sizes()
            states = [TensorInfo(n, (-1, k), "float32") for n, k in zip(names, sizes, strict=True)]
            self.inputs = [TensorInfo("x", (-1, 1), "float32"), *states]
            self.outputs = [TensorInfo("forecast", (-1, 1), "float32"), *states]

    def run(self, *feeds: np.ndarray) -> list[np.ndarray]:
        """Outputs for inputs, float32 like a float32 interpreter's (float64 inside)."""
        if self._model.mode == "window":
            return [self._model.windows(feeds[0]).astype(np.float32)]
        y, states = self._model.step(feeds[0], list(feeds[1:]))
        return [y.astype(np.float32), *(s.astype(np.float32) for s in states)]


class CBackend:
    """A generated C source (export/c.py, or export/c_integer.py's integer-only one), compiled
    by the system C compiler and called through ctypes (any batch): x and the state parts in,
    the forecast and the new state parts out (float32, or int16 fixed point)."""

    def __init__(self, path: Path, name: str = "c", threads: int = 1) -> None:
        import ctypes

        from .compiler import compiler_version, shared_library

        self.name, self.version = "c", compiler_version()
        text = _header_text(path)
        layout = re.search(r'#define EFI?_STATE_LAYOUT "([^"]*)"', text)
        if layout is None:
            raise UserError(f"{path.name} has no generated header beside it: re-export the model")
        integer = "EFI_STATE_LAYOUT" in text  # int16 values, each part with its fraction bits
        parts = re.findall(r"(\w+)\[(\d+)\](?:/(\d+))?", layout.group(1))
        edges = np.cumsum([0] + [int(n) for _, n, _ in parts]).tolist()
        self._slices = list(itertools.pairwise(edges))
        self._dtype = np.int16 if integer else np.float32
        self._lib = ctypes.CDLL(str(shared_library(path)))
        self._step_rows = self._lib.efi_step_rows if integer else self._lib.ef_step_rows
        self._step_rows.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._step_rows.restype = None
        self._rows = 0

        def tensor(name: str, size: int, bits: str) -> TensorInfo:
            if integer:
                return TensorInfo(name, (-1, size), "int16", 2.0 ** -int(bits))
            return TensorInfo(name, (-1, size), "float32")

        x_bits = re.search(r"#define EFI_X_BITS (\d+)", text)
        x_bits = x_bits.group(1) if x_bits else ""
        horizon = re.search(r"#define EFI?_HORIZON (\d+)", text)  # older exports: one output
        self._horizon = int(horizon.group(1)) if horizon else 1
        states = [tensor(n, int(k), bits) for n, k, bits in parts]
        self.inputs = [tensor("x", 1, x_bits), *states]
        self.outputs = [tensor("forecast", self._horizon, x_bits), *states]

    def _allocate(self, rows: int) -> None:
        """Buffers for a batch of `rows`, and their addresses (the ctypes call's arguments)."""
        self._x = np.zeros(rows, self._dtype)
        self._y = np.zeros((rows, self._horizon), self._dtype)
        self._states = np.zeros((rows, self._slices[-1][1]), self._dtype)
        self._args = [b.ctypes.data for b in (self._states, self._x, self._y)]
        self._rows = rows

    def run(self, *feeds: np.ndarray) -> list[np.ndarray]:
        """Outputs for inputs: one step_rows call for the whole batch (new arrays out)."""
        rows = len(feeds[0])
        if rows != self._rows:
            self._allocate(rows)
        np.copyto(self._x, np.reshape(feeds[0], rows))
        for (a, b), state in zip(self._slices, feeds[1:], strict=True):
            np.copyto(self._states[:, a:b], state)
        self._step_rows(rows, *self._args)
        states = self._states.copy()
        return [self._y.copy(), *(states[:, a:b] for a, b in self._slices)]


def _header_text(source: Path) -> str:
    """The headers a C source includes, beside it: the generated one that holds the state's
    layout among them ('' if none is there)."""
    from .compiler import local_includes

    return "".join(h.read_text() for h in local_includes(source))


Backend = TFLiteBackend | OnnxBackend | NumpyBackend | CBackend


def open_backend(path: Path, fmt: str, name: str | None = None, threads: int = 1) -> Backend:
    """Load `path` on the named interpreter (or the default one for its format)."""
    name = name or default_backend(fmt)
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name not in backends_for(fmt):
        raise UserError(f"{path.name} is a {fmt} file; backend {name} cannot run it")
    if not available(name):
        raise UserError(f"backend {name} is not installed: {install_hint(name)}")
    cls = {"onnx": OnnxBackend, "numpy": NumpyBackend, "c": CBackend}.get(fmt, TFLiteBackend)
    return cls(path, name, threads)


def _tflite_info(d: dict) -> TensorInfo:
    scale, zero = d.get("quantization", (0.0, 0))
    return TensorInfo(
        d["name"],
        tuple(int(s) for s in d["shape"]),
        np.dtype(d["dtype"]).name,
        float(scale),
        int(zero),
    )


def _onnx_info(t: object) -> TensorInfo:
    dtype = {"tensor(float)": "float32", "tensor(int8)": "int8"}.get(t.type, t.type)
    shape = tuple(s if isinstance(s, int) else -1 for s in t.shape)
    return TensorInfo(t.name, shape, dtype)
