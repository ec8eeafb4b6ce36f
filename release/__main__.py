"""Build the runtime wheel: `python -m release` (make wheel).

-> dist/edge_forecaster_runtime-VERSION-py3-none-any.whl, holding only runtime/ (with its live
page's files), importable as `edge_forecaster_runtime` (a top-level `runtime` in site-packages
would collide with other software; the package's imports are relative, so its files go in
unchanged), with the console script `edge-forecast` (today's `python -m runtime`) and one extra
per interpreter, one for pyserial and one for paho-mqtt. Written with
zipfile and the wheel spec: no build backend to download, the same bytes for the same sources.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAME = "edge_forecaster_runtime"
REQUIRES = ["numpy>=1.24"]
EXTRAS = {  # pip install edge_forecaster_runtime-...whl[litert]
    "litert": ["ai-edge-litert>=2.3"],
    "tflite": ["tflite-runtime>=2.14"],
    "onnx": ["onnxruntime>=1.17"],
    "serial": ["pyserial>=3.5"],
    "mqtt": ["paho-mqtt>=2.0"],
}
EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed file times: a rebuild of the same sources is identical


def version() -> str:
    """The project's version, from pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def metadata(ver: str) -> str:
    """The wheel's METADATA: name, version, what it needs and its extras."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {ver}",
        "Summary: Stream sensor samples through an exported edge-forecaster model, "
        "without TensorFlow",
        "Requires-Python: >=3.11",
        *(f"Requires-Dist: {r}" for r in REQUIRES),
    ]
    for extra, reqs in EXTRAS.items():
        lines += [f"Provides-Extra: {extra}"]
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in reqs]
    return "\n".join(lines) + "\n"


def build(out: Path) -> Path:
    """Write the wheel into `out`; returns its path."""
    ver = version()
    info = f"{NAME}-{ver}.dist-info"
    runtime = REPO / "runtime"
    files = {f"{NAME}/{p.name}": p.read_bytes() for p in sorted(runtime.glob("*.py"))}
    # the live page (runtime/page.py) and its charting library
    files |= {f"{NAME}/static/{p.name}": p.read_bytes() for p in sorted(runtime.glob("static/*"))}
    files[f"{info}/METADATA"] = metadata(ver).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: edge-forecaster release\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = (
        f"[console_scripts]\nedge-forecast = {NAME}.__main__:cli\n"
    ).encode()
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{NAME}-{ver}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, EPOCH)
            entry.external_attr = 0o644 << 16
            whl.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return path


def _digest(data: bytes) -> str:
    """The RECORD form of a sha256: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main() -> None:
    """Parse --out, build, print the wheel's path."""
    parser = argparse.ArgumentParser(prog="python -m release", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (dist/)")
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
