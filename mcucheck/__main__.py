"""`python -m mcucheck`: the generated C forecaster on a Cortex-M under QEMU (`make mcu-check`).

Every forecast the microcontroller makes is compared with Keras's (the export's reference, the
file's bound) and with the same harness built for this machine; flash, RAM, stack and
instructions per sample go into artifacts/mcu-check.md.

Exit codes: 0 every source within its bound, 1 one was not, 2 bad usage, 4 no Arm toolchain
or QEMU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from export.c import source_name
from export.variants import BY_KEY
from runtime.errors import UserError
from runtime.manifest import read_manifest
from runtime.parity import REFERENCE, Reference, compare
from training.files import commit, write_between_markers

from . import tflm
from .build import build, parse, run
from .report import markdown, tables
from .targets import TARGETS, Target

TOOLS = ("arm-none-eabi-gcc", "qemu-system-arm")
NEWLIB = Path("/usr/lib/arm-none-eabi/newlib")  # the targets' libm and libc


class NoTools(UserError):
    """The Arm toolchain or QEMU is missing."""


def check_tools() -> None:
    """The cross compiler, newlib and QEMU are here, or a clear refusal."""
    if not all(shutil.which(t) for t in TOOLS) or not NEWLIB.is_dir():
        raise NoTools("no Arm toolchain or QEMU: run make mcu-tools (as root), or make mcu-check")


def check(artifacts: Path, precision: str, target: Target, work: Path) -> dict:
    """One C source on one target: its costs, and its forecasts against Keras and this machine."""
    entry = next(
        f for f in read_manifest(artifacts)["files"] if f["file"] == f"c/{source_name(precision)}"
    )
    key = f"{entry['mode']}:{entry['variant']}" if entry["mode"] == "step" else entry["variant"]
    ref = Reference.load(artifacts / REFERENCE)
    integer = precision == "integer"  # efi_step alone: no ef_push, score or ef_stream
    here = parse(run(build(artifacts, precision, None, work), None), integer)
    b = build(artifacts, precision, target, work)
    mcu = parse(run(b, target), integer)
    tolerance = entry["parity"]["tolerance"]
    scale = json.loads((artifacts / "model.json").read_text())["normalization"]["scale"]
    held = ref.stream_held if BY_KEY[key].fixed_range else None
    parity = compare(mcu["step"], ref.stream, tolerance, held, (mcu["stress"], ref.stress_step))
    per_tick = mcu["calibration_instructions"] / mcu["calibration_ticks"]
    apart = max(
        float(np.abs(mcu[k].astype(np.float64) - here[k]).max()) for k in ("step", "stress")
    )
    return {
        "source": source_name(precision),
        "target": target.core,
        "machine": target.machine,
        "flash_source": b.flash["source"],
        "flash_libraries": b.flash["libraries"],
        "ram_libraries": b.ram["libraries"] + b.ram["source"],
        "stream_bytes": entry["ram_bytes"] if integer else mcu["stream_bytes"],
        "stack_bytes": mcu["stack_bytes"],
        "instructions_step": mcu["step_ticks"] * per_tick / mcu["steps"],
        "instructions_push": None if integer else mcu["push_ticks"] * per_tick / mcu["pushes"],
        "max_dev": max(parity.max_abs, parity.stress_max_abs),
        "tolerance": tolerance,
        "passed": parity.passed,
        "apart_from_here": apart,  # ef_step's forecasts, normalized units
        "push_apart": None
        if integer
        else float(np.abs(mcu["push"][:, 0] - here["push"][:, 0]).max() / scale),
        "score_apart": None
        if integer
        else float(np.abs(mcu["push"][:, 1] - here["push"][:, 1]).max()),
    }


def summary(r: dict) -> str:
    """One line: what a source costs on a target and how close it came."""
    per_sample = r["instructions_push"] or r["instructions_step"]
    return (
        f"{per_sample:,.0f} instructions per sample, flash {r['flash_source']:,} B "
        f"(+{r['flash_libraries']:,} B of libraries), stack {r['stack_bytes']:,} B, max dev "
        f"{r['max_dev']:.1e} (bound {r['tolerance']:.0e}) {'ok' if r['passed'] else 'FAILED'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcucheck",
        description=__doc__.split("\n\n")[0],
        epilog="Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm: "
        "`make mcu-check` installs them (as root).",
    )
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="exported model")
    parser.add_argument(
        "--mcu", action="append", choices=list(TARGETS), help="target (default: each in turn)"
    )
    parser.add_argument(
        "--source",
        action="append",
        choices=["float32", "int8", "integer"],
        help="C sources (the target's)",
    )
    parser.add_argument(
        "--out", type=Path, help="report (default ARTIFACTS/mcu-check.md, and .json beside it)"
    )
    parser.add_argument("--doc", type=Path, help="also write the tables into this markdown file")
    parser.add_argument(
        "--tflm",
        type=Path,
        metavar="DIR",
        help="also run the int8 step file through TensorFlow Lite Micro with CMSIS-NN, built "
        "from the sources in DIR (mcucheck/tflm.py says which)",
    )
    args = parser.parse_args()
    out = args.out or args.artifacts / "mcu-check.md"
    rows: list[dict] = []
    try:
        if not (args.artifacts / "manifest.json").is_file():
            raise UserError(f"no {args.artifacts}/manifest.json: run make train export first")
        check_tools()
        with tempfile.TemporaryDirectory(prefix="mcu-check-") as work:
            for target in (TARGETS[name] for name in args.mcu or TARGETS):
                for precision in args.source or target.sources:
                    name = source_name(precision)
                    print(f"{name} on {target.core} ({target.machine}) ...", flush=True)
                    rows.append(check(args.artifacts, precision, target, Path(work)))
                    print("  " + summary(rows[-1]), flush=True)
                if args.tflm:
                    print(f"TFLM on {target.core} ({target.machine}): building ...", flush=True)
                    rows.append(tflm.check(args.tflm, args.artifacts, target, Path(work)))
                    print("  " + summary(rows[-1]), flush=True)
        out.write_text(markdown(rows, args.artifacts))
        out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
        if args.doc:
            measured = f"Measured at {commit()} (`make mcu-check`).\n"
            write_between_markers(args.doc, "mcu-check", "\n".join([measured, *tables(rows)]))
        print(f"-> {out}, {out.with_suffix('.json').name}")
    except NoTools as e:
        print(f"error: {e}", file=sys.stderr)
        return 4
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
