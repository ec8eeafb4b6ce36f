"""CLI: `python -m fleet INPUT... [--workers N | --scheduler tcp://HOST:8786]` trains and exports
one model per series, in parallel on Dask, and writes fleet.json and fleet.md."""

from __future__ import annotations

from pathlib import Path

from runtime.cli.args import ArgumentParser, checked, run_cli
from runtime.errors import UserError
from training.cli import add_dataclass_options, changed_options
from training.config import TrainConfig
from training.files import write_between_markers

from .inputs import PER_SERIES, find_series
from .report import provenance
from .run import Settings, run_fleet

fraction = checked(float, lambda v: 0 < v <= 1, "a fraction in (0, 1]")


def parser() -> ArgumentParser:
    """The command line: the fleet's options, then every training option."""
    parser = ArgumentParser(
        prog="python -m fleet",
        description="Train, export and gate one model per series (the same files as `make train "
        "export`, in OUT/<series>/), as one Dask task per series, then write OUT/fleet.json and "
        "OUT/fleet.md. A second run skips each series whose folder is complete and whose input "
        "and settings are unchanged.",
        epilog="Training options (--epochs, --window, --cell, ...) apply to every series.",
    )
    parser.add_argument(
        "inputs", nargs="+", help="CSV files, folders of them (NAB's data/ as it is) or globs"
    )
    parser.add_argument("--out", type=Path, default=Path("fleet-out"), help="(default: fleet-out)")
    parser.add_argument("--column", default="value", help="CSV column (default: value)")
    parser.add_argument(
        "--train-fraction",
        type=fraction,
        help="train on the first part of each series, e.g. 0.15 (NAB's probationary "
        "period); default: the whole series",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="local worker processes (default: 2)"
    )
    parser.add_argument(
        "--scheduler", help="an existing Dask scheduler, e.g. tcp://HOST:8786, instead"
    )
    parser.add_argument("--variants", help="passed to export: comma-separated quantizations")
    parser.add_argument("--modes", help="passed to export: window, step or both")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--doc", type=Path, help="also write fleet.md into this file's block")
    parser.add_argument("--block", default="fleet", help="the block's name (default: fleet)")
    add_dataclass_options(parser, TrainConfig, skip=PER_SERIES)
    return parser


def main() -> int:
    """Parse the command line and run the fleet; exit 1 if a series failed or a file missed."""
    args = parser().parse_args()
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    export_args = []
    for name in ("variants", "modes"):
        if getattr(args, name):
            export_args += [f"--{name}", getattr(args, name)]
    settings = Settings(
        args.column,
        args.train_fraction,
        changed_options(TrainConfig, args, PER_SERIES),
        export_args,
    )
    rows = run_fleet(
        find_series(args.inputs),
        args.out,
        settings,
        args.workers,
        args.scheduler,
        progress=not args.no_progress,
    )
    if args.doc:
        table = (args.out / "fleet.md").read_text()
        write_between_markers(args.doc, args.block, f"{provenance(rows)}.\n\n{table}")
    failed = [r for r in rows if r["error"]]
    missed = [r for r in rows if not r["error"] and r["held"] < len(r["files"])]
    print(
        f"{len(rows) - len(failed)} of {len(rows)} series trained and exported, "
        f"{len(missed)} with a file over its bound -> {args.out}/fleet.md"
    )
    return 1 if failed or missed else 0


if __name__ == "__main__":
    run_cli(main)
