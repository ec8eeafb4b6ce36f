"""manifest.json: what each exported file is, and the checks made before one is loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .digest import sha256_file
from .errors import UserError
from .interpreters import TFLITE_BACKENDS, available

MANIFEST = "manifest.json"
FORMAT = "edge-forecaster-manifest/1"
MODES = ("window", "step")  # a whole window per call, or one sample and the state per call
# Every variant a manifest can name: export/variants.py defines each (its file, format, bound);
# tests/export/test_recipes.py checks the two lists agree.
VARIANT_NAMES = (
    *("float32", "float32_unrolled", "float16", "dynamic_int8", "int8"),  # TFLite
    *("onnx", "onnx_dynamic_int8", "numpy", "c_float32", "c_int8", "c_integer"),
)


@dataclass(frozen=True)
class Entry:
    """One file of the manifest, with the model metadata shared by all files."""

    path: Path
    info: dict  # the file's entry: variant, format, mode, sha256, inputs, outputs, parity, ...
    model: dict  # window, normalization, cell, ... (shared by every file)

    @property
    def variant(self) -> str:
        """e.g. float32, int8, onnx."""
        return self.info["variant"]

    @property
    def format(self) -> str:
        """tflite or onnx."""
        return self.info["format"]


def read_manifest(folder: Path) -> dict:
    """The parsed manifest of an artifacts folder, or a UserError saying how to get one."""
    path = folder / MANIFEST
    if not path.is_file():
        raise UserError(
            f"no {MANIFEST} in {folder}/: export the model first (make export), "
            "and copy the manifest with the model files"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not readable JSON ({e}): re-export the model") from None
    if manifest.get("format") != FORMAT:
        raise UserError(
            f"{path} is not a manifest this runtime reads (format "
            f"{manifest.get('format')!r}, expected {FORMAT!r}): re-export the model"
        )
    return manifest


def default_variant() -> str:
    """float32, or numpy where no TFLite interpreter is installed (a 32-bit Pi, say)."""
    return "float32" if any(available(b) for b in TFLITE_BACKENDS) else "numpy"


def find_entry(target: Path, variant: str | None = None, mode: str | None = None) -> Entry:
    """The manifest entry for a model file, or for a variant (default float32) in a folder."""
    target = Path(target)
    if target.is_dir():
        folder, name = target, None
    elif target.exists():
        folder, name = target.parent, target.name
        if not (folder / MANIFEST).is_file() and (folder.parent / MANIFEST).is_file():
            folder, name = folder.parent, f"{target.parent.name}/{target.name}"  # c/forecaster...
    else:
        raise UserError(f"no such model file or folder: {target}")
    manifest = read_manifest(folder)
    files = manifest["files"]
    if name is not None:
        matches = [f for f in files if f["file"] == name]
        if not matches:
            raise UserError(
                f"{name} is not listed in {folder / MANIFEST}: it was not exported "
                "with this manifest; re-export, or pass a listed file"
            )
    else:
        wanted = variant or default_variant()
        matches = [
            f
            for f in files
            if f["variant"] == wanted and (mode is None or f.get("mode", "window") == mode)
        ]
        if not matches:
            listed = sorted({f["variant"] for f in files})
            raise UserError(
                f"no {wanted!r} file in {folder}/: variants there are {', '.join(listed)}"
            )
    return Entry(folder / matches[0]["file"], matches[0], manifest["model"])


def verify(entry: Entry) -> None:
    """Refuse a file that is missing, truncated, corrupt or not the one the manifest describes."""
    path = entry.path
    if not path.is_file():
        raise UserError(f"{path} is listed in the manifest but missing: copy it again or re-export")
    size = path.stat().st_size
    if size != entry.info["bytes"]:
        raise UserError(
            f"{path.name} has {size} bytes, the manifest says {entry.info['bytes']}: "
            "the file is truncated or from another export; copy it again or re-export"
        )
    if sha256_file(path) != entry.info["sha256"]:
        raise UserError(
            f"{path.name} does not match its sha256 in the manifest: the file is "
            "corrupt or from another export; copy it again or re-export"
        )
    # a C source's headers (earlier exports listed their one generated header as "header")
    legacy = [entry.info["header"]] if "header" in entry.info else []
    for header in entry.info.get("includes", legacy):
        header_path = path.parents[len(Path(entry.info["file"]).parts) - 1] / header["file"]
        if not header_path.is_file() or sha256_file(header_path) != header["sha256"]:
            raise UserError(
                f"{header['file']} is missing or does not match its sha256 in the manifest: "
                "copy it with the C source, or re-export"
            )


def parse_version(text: str) -> tuple[int, ...]:
    """'2.14.0' -> (2, 14, 0); non-numeric parts count as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in text.split(".")[:3])


def check_runtime(entry: Entry, backend: str, version: str) -> None:
    """Refuse a TFLite file whose min_runtime_version is newer than tflite-runtime's version.

    Only tflite-runtime is numbered like TensorFlow; ai-edge-litert is its successor and runs
    every file the converter of this project's TensorFlow writes.
    """
    need = entry.info.get("min_runtime_version")
    if backend == "tflite-runtime" and need and parse_version(version) < parse_version(need):
        raise UserError(
            f"{entry.path.name} needs a TFLite runtime >= {need}, but tflite-runtime "
            f"{version} is installed: pip install ai-edge-litert (or use the "
            "dynamic_int8/float32 files, which tflite-runtime 2.14 runs)"
        )


def variant_key(name: str, mode: str) -> str:
    """A file's unique name among the variants: 'int8' for a window file, 'step:int8' for a
    step file (the keys of --tolerance and export/variants.py's BY_KEY)."""
    return name if mode == "window" else f"step:{name}"


def io_types(info: dict) -> str:
    """What a file takes and gives, e.g. 'int16 in, int16 out, 16-bit activations': a user
    targeting an int8-only accelerator must see that a full-integer file is not int8 through."""
    ins = sorted({t["dtype"] for t in info.get("inputs", [])})
    outs = sorted({t["dtype"] for t in info.get("outputs", [])})
    if not ins:  # C sources and numpy weights: the API takes and gives floats
        return "float32 in, float32 out"
    text = f"{'/'.join(ins)} in, {'/'.join(outs)} out"
    bits = info.get("activation_bits")
    return text + (f", {bits}-bit activations" if bits else "")
