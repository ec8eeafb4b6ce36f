"""CLI: `python -m export [--dir artifacts]` converts, checks parity, writes manifest and report."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from runtime.errors import UserError, run_cli

from .variants import BY_NAME, VARIANTS


def parse_tolerance(text: str) -> tuple[str, float]:
    """'int8=0.01' -> ('int8', 0.01)."""
    name, _, value = text.partition("=")
    if name not in BY_NAME or not value:
        raise argparse.ArgumentTypeError(
            f"expected VARIANT=BOUND with VARIANT one of {', '.join(BY_NAME)}, got {text!r}"
        )
    return name, float(value)


def main() -> int:
    """Export every variant (or those named) and exit 1 if any file misses its parity bound."""
    table = "\n".join(
        f"  {v.name:<18} {v.filename:<26} bound {v.tolerance:.0e}  {v.about}" for v in VARIANTS
    )
    parser = argparse.ArgumentParser(
        prog="python -m export",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert the trained model in --dir to TFLite and ONNX, check every file "
        "against Keras on the test windows (the parity gate), and write manifest.json and "
        "report.md/.json/.png next to it. Exits 1 if a file misses its bound.",
        epilog=f"variants and their bounds on max |deviation| (normalized units):\n{table}",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("artifacts"),
        help="artifacts folder written by python -m training (default: artifacts)",
    )
    parser.add_argument(
        "--variants",
        default=",".join(BY_NAME),
        help="comma-separated variants to export (default: all)",
    )
    parser.add_argument(
        "--tolerance",
        type=parse_tolerance,
        action="append",
        default=[],
        metavar="VARIANT=BOUND",
        help="override one bound (for experiments)",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise UserError(
            f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(BY_NAME)}"
        )
    bounds = dict(args.tolerance)
    variants = [
        dataclasses.replace(BY_NAME[n], tolerance=bounds.get(n, BY_NAME[n].tolerance))
        for n in names
    ]

    from .pipeline import export_all

    print(f"exporting {len(variants)} file(s) from {args.dir}/", flush=True)
    report, ok = export_all(args.dir, variants, say=lambda s: print(s, flush=True))
    print(f"-> {args.dir}/manifest.json, report.md, report.json, report.png")
    if not ok:
        for r in report["files"]:
            if r["error"]:
                print(
                    f"error: {r['file']} ({r['variant']}) was not exported: {r['error']}",
                    file=sys.stderr,
                )
            elif not r["passed"]:
                print(
                    f"error: {r['file']} misses its parity bound: max |dev| {r['max_abs']:.3g} "
                    f"> bound {r['tolerance']:.3g} (normalized units)",
                    file=sys.stderr,
                )
        return 1
    return 0


if __name__ == "__main__":
    run_cli(main)
