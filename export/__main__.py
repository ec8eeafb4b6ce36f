"""CLI: `python -m export [--dir artifacts]` converts, checks parity, writes manifest and report."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from runtime.cli.args import ArgumentParser, parse_tolerance, run_cli
from runtime.errors import UserError

from .variants import BY_KEY, VARIANTS


def variant_tolerance(text: str) -> tuple[str, float]:
    """A --tolerance option whose key is one of the variants' (see runtime.parity)."""
    name, bound = parse_tolerance(text)
    if name not in BY_KEY:
        raise argparse.ArgumentTypeError(
            f"expected VARIANT=BOUND with VARIANT one of {', '.join(BY_KEY)}, got {text!r}"
        )
    return name, bound


def parser(names: list[str]) -> ArgumentParser:
    """The command line, its epilog the table of files and bounds."""
    table = "\n".join(
        f"  {v.key:<18} {v.filename:<26} bound {v.tolerance:.0e}  {v.about}" for v in VARIANTS
    )
    p = ArgumentParser(
        prog="python -m export",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert the trained model in --dir to TFLite and ONNX window files (a window "
        "per call) and step files (one sample and the recurrent state per call), check every "
        "file against Keras (the parity gate), and write manifest.json and report.md/.json/.png "
        "next to it. Exits 1 if a file misses its bound.",
        epilog=f"files and their bounds on max |deviation| (normalized units):\n{table}",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=Path("artifacts"),
        help="artifacts folder written by python -m training (default: artifacts)",
    )
    p.add_argument(
        "--variants",
        default=",".join(names),
        help=f"comma-separated variants (default: all: {','.join(names)})",
    )
    p.add_argument(
        "--modes",
        default="window,step",
        help="comma-separated modes to export (default: window,step)",
    )
    p.add_argument(
        "--tolerance",
        type=variant_tolerance,
        action="append",
        default=[],
        metavar="KEY=BOUND",
        help="override one bound, e.g. int8=0.01 or step:int8=0.01 (for experiments)",
    )
    p.add_argument(
        "--c-library",
        type=Path,
        metavar="DIR",
        help="instead of exporting, write the exported C forecaster of --dir as a library "
        "folder for a firmware project: Arduino, PlatformIO and CMake manifests, an example",
    )
    p.add_argument(
        "--c-precision",
        choices=("float32", "int8", "integer"),
        default="float32",
        help="the C source the library holds (default: float32; integer: chips without an FPU)",
    )
    return p


def chosen(args: argparse.Namespace, names: list[str]) -> list:
    """The variants --variants and --modes name, with --tolerance's bounds."""
    wanted = {n.strip() for n in args.variants.split(",") if n.strip()}
    modes = {m.strip() for m in args.modes.split(",") if m.strip()}
    unknown = sorted(wanted - set(names)) + sorted(modes - {"window", "step"})
    if unknown:
        raise UserError(
            f"unknown variant or mode {', '.join(unknown)}: variants are "
            f"{', '.join(names)}; modes are window, step"
        )
    bounds = dict(args.tolerance)
    return [
        dataclasses.replace(v, tolerance=bounds.get(v.key, v.tolerance))
        for v in VARIANTS
        if v.name in wanted and v.mode in modes
    ]


def say_failures(report: dict) -> None:
    """One error line per file that was not written or misses its bound."""
    for r in report["files"]:
        if r["error"]:
            print(
                f"error: {r['file']} ({r['variant']}) was not exported: {r['error']}",
                file=sys.stderr,
            )
        elif not r["passed"]:
            where = (
                f"max |dev| {r['max_abs']:.3g} on the test inputs"
                + (" within the range" if r["outside"] else "")
                + f", {r['stress_max_abs']:.3g} on the stress inputs"
            )
            print(
                f"error: {r['file']} misses its parity bound {r['tolerance']:.3g}: {where} "
                "(normalized units)",
                file=sys.stderr,
            )


def main() -> int:
    """Export every variant (or those named) and exit 1 if any file misses its parity bound."""
    names = list(dict.fromkeys(v.name for v in VARIANTS))
    args = parser(names).parse_args()
    if args.c_library:
        from .c_library import write_library

        written = write_library(args.dir, args.c_library, args.c_precision)
        print(f"-> {args.c_library}/: {', '.join(written)}")
        return 0
    variants = chosen(args, names)

    from .pipeline import export_all

    print(f"exporting {len(variants)} file(s) from {args.dir}/", flush=True)
    report, ok = export_all(args.dir, variants, say=lambda s: print(s, flush=True))
    print(f"-> {args.dir}/manifest.json, report.md, report.json, report.png")
    if not ok:
        say_failures(report)
        return 1
    return 0


if __name__ == "__main__":
    run_cli(main)
