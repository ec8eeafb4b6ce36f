"""Which interpreters run which files, which are installed here, their versions, and what to
install when one is missing: each is looked up without being imported (runtime/backends.py
imports the one a file runs on)."""

from __future__ import annotations

import importlib
import importlib.util
import sys

from .errors import UserError

# the interpreters that run each format, preferred first
FORMAT_BACKENDS = {
    "tflite": ("litert", "tflite-runtime"),
    "onnx": ("onnxruntime",),
    "numpy": ("numpy",),
    "c": ("c",),
}
TFLITE_BACKENDS = FORMAT_BACKENDS["tflite"]
BACKENDS = (*TFLITE_BACKENDS, "onnxruntime", "numpy", "c")
PACKAGES = {
    "litert": "ai-edge-litert",
    "tflite-runtime": "tflite-runtime",
    "onnxruntime": "onnxruntime",
    "numpy": "numpy",
}  # what to pip install (the C backend needs a C compiler instead)
MODULES = {
    "litert": "ai_edge_litert",
    "tflite-runtime": "tflite_runtime",
    "onnxruntime": "onnxruntime",
    "numpy": "numpy",
}  # what to import


def available(name: str) -> bool:
    """True if the interpreter package for `name` can be imported here (for c: a compiler)."""
    if name == "c":
        from .compiler import compiler

        return compiler() is not None
    return importlib.util.find_spec(MODULES[name]) is not None


def backends_for(fmt: str) -> tuple[str, ...]:
    """The interpreters that can run a format, preferred first."""
    if fmt not in FORMAT_BACKENDS:
        raise UserError(f"unknown model format {fmt!r} in the manifest: re-export the model")
    return FORMAT_BACKENDS[fmt]


def default_backend(fmt: str) -> str:
    """The first installed interpreter for a format (ai-edge-litert before tflite-runtime)."""
    candidates = backends_for(fmt)
    for name in candidates:
        if available(name):
            return name
    if fmt == "c":
        raise UserError(f"no C compiler here for the C files: {install_hint('c')}")
    wanted = " or ".join(PACKAGES[c] for c in candidates)
    raise UserError(
        f"no interpreter for {fmt} files is installed: pip install {wanted}, or run the "
        "numpy files (variant numpy), which need numpy alone"
    )


def install_hint(name: str) -> str:
    """How to get a backend here: pip install it, unless no wheel exists for this Python."""
    if name == "c":
        return "install a C compiler (apt install gcc; or set $CC), or use another variant"
    if name == "tflite-runtime" and sys.version_info >= (3, 12):
        return (
            "tflite-runtime has no wheel for Python 3.12 or later (its last release, 2.14, "
            "stops at 3.11; Raspberry Pi OS trixie has 3.13): use ai-edge-litert "
            "(pip install ai-edge-litert), which runs the same files"
        )
    return f"pip install {PACKAGES[name]}"


def version_of(name: str) -> str:
    """Installed version of a backend's package (its __version__, cheaper than metadata)."""
    if name == "c":
        from .compiler import compiler_version

        return compiler_version()
    found = getattr(importlib.import_module(MODULES[name]), "__version__", None)
    if found:
        return found
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGES[name])
    except PackageNotFoundError:
        return "unknown"
