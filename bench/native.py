"""The C files' per-sample cost in a pure C loop (bench/loop.c), beside the interpreters."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from runtime.compiler import compiler, compiler_version

LOOP = Path(__file__).with_name("loop.c")
FLOOR = Path(__file__).with_name("floor.c")
FLAGS = ("-std=c99", "-O3")  # what docs/c.md's build line uses


def c_loop(folder: Path, manifest: dict, quick: bool) -> list[dict]:
    """Per C file: nanoseconds per ef_push over the stream's samples, compiled here with FLAGS;
    none without a compiler or C files."""
    cc = compiler()
    # ef_push's sources; the integer one has efi_step alone (make mcu-check counts its cost)
    files = [f for f in manifest["files"] if f["format"] == "c" and f["variant"] != "c_integer"]
    if cc is None or not files:
        return []
    saved = np.load(folder / "windows.npz")
    samples = "\n".join(f"{v:.9g}" for v in saved["values"]) + "\n"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            source = folder / f["file"]
            exe = Path(tmp) / source.stem
            build = [cc, *FLAGS, "-I", str(source.parent), "-o", str(exe), str(LOOP), str(source)]
            subprocess.run([*build, "-lm"], check=True)
            n = "20000" if quick else "200000"
            out = subprocess.run([str(exe), n], input=samples, capture_output=True, text=True)
            result = json.loads(out.stdout)
            rows.append(
                {
                    "file": f["file"],
                    "variant": f["variant"],
                    "us_per_sample": result["ns_per_sample"] / 1e3,
                    "flash_bytes": f.get("flash_bytes"),
                    "ram_bytes": f.get("ram_bytes"),
                    "compiler": f"{compiler_version()} {' '.join(FLAGS)}",
                }
            )
    return rows


def c_floor(macs_per_step: int, columns: int, quick: bool) -> dict | None:
    """The compute floor beside the C loop (bench/floor.c, the same flags): a product of
    macs_per_step / columns rows by `columns`, its microseconds per pass; None without a compiler.
    The C loop's time over this says what the rest of a step (gates, exponentials, state, the
    score) costs on top of its multiply-adds."""
    from export.c import FIXED  # the generated sources' product, which the floor runs

    cc = compiler()
    if cc is None:
        return None
    rows = max(1, round(macs_per_step / columns))
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "floor"
        subprocess.run([cc, *FLAGS, "-I", str(FIXED), "-o", str(exe), str(FLOOR)], check=True)
        n = "20000" if quick else "200000"
        out = subprocess.run([str(exe), str(rows), str(columns), n], capture_output=True, text=True)
    return {
        "rows": rows,
        "columns": columns,
        "us_per_pass": json.loads(out.stdout)["ns_per_pass"] / 1e3,
        "compiler": f"{compiler_version()} {' '.join(FLAGS)}",
    }
