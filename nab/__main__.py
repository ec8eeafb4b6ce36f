"""CLI: `python -m nab run` benchmarks the detector on the Numenta Anomaly Benchmark; `python -m nab
score DETECTOR` scores any detector's results in NAB's layout."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fleet.inputs import PER_SERIES
from runtime.cli.args import ArgumentParser, run_cli
from runtime.errors import UserError
from training.cli import add_dataclass_options
from training.config import TrainConfig

from .corpus import Corpus
from .detect import VARIANTS
from .results import score_detector
from .run import PROFILES, run

DEFAULT_NAB = Path(__file__).resolve().parent.parent.parent / "shared" / "nab"
SHOW_SERIES = "realKnownCause/machine_temperature_system_failure.csv"


def fleet_table(args: argparse.Namespace) -> int:
    """Train and export every file on every series; the fleet table."""
    from . import table
    from .models import train_models

    series = Corpus(args.nab).select(args.files)
    t0 = time.perf_counter()
    rows = train_models(series, args.out, args.workers, args.scheduler, export_args=[])
    text = table.write(args.out, rows, time.perf_counter() - t0, args.workers)
    print(text)
    print(f"-> {args.out}/table.md, fleet.md, fleet.json")
    if args.doc:
        from training.files import write_between_markers

        write_between_markers(Path(args.doc), "fleet", text)
    held = all(r["held"] == len(r["files"]) for r in rows if not r["error"])
    return 0 if held else 1


def score(args: argparse.Namespace) -> int:
    """Score a detector's results (NAB's layout) with the three profiles."""
    corpus = Corpus(args.nab)
    thresholds = None
    if args.nab_thresholds:
        stored = json.loads((Path(args.nab) / "config" / "thresholds.json").read_text())
        if args.detector not in stored:
            raise UserError(f"config/thresholds.json has no thresholds for {args.detector}")
        thresholds = {p: v["threshold"] for p, v in stored[args.detector].items()}
    try:
        scores, _ = score_detector(corpus, Path(args.results), args.detector, None, thresholds)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    for p in PROFILES:
        s = scores[p]
        print(f"{p:<20} {s['score']:6.2f}  (raw {s['raw']:.3f}, threshold {s['threshold']:.6f})")
    return 0


def main() -> int:
    """Parse the command line and run a subcommand."""
    parser = ArgumentParser(
        prog="python -m nab",
        description="The anomaly score on the Numenta Anomaly Benchmark, scored by NAB's rules.",
    )
    parser.add_argument(
        "--nab", type=Path, default=DEFAULT_NAB, help=f"a NAB folder (default: {DEFAULT_NAB})"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_run(sub)
    add_table(sub)
    add_score(sub)
    args = parser.parse_args()
    if args.command == "run":
        args.variant = args.variant or ["int8"]
    return args.run(args)


def add_run(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "run",
        help="train, stream every file, write NAB results, score and plot",
        description="Train a model per NAB file on the rows NAB does not score (its first 15%, "
        "at most 750), stream each whole file through the runtime with each variant, write "
        "the scores in NAB's layout (OUT/results/), score them, plot (OUT/plots/).",
        epilog="Training options (--epochs, --window, --cell, ...) apply to every file.",
    )
    r.add_argument("--out", type=Path, default=Path("build/nab"), help="(default: build/nab)")
    r.add_argument(
        "--variant",
        action="append",
        choices=VARIANTS,
        help="step file to stream; repeat for several (default: int8)",
    )
    r.add_argument("--python", default=sys.executable, help="the runtime's Python (a device venv)")
    add_cluster_options(r)
    r.add_argument("--show", default=SHOW_SERIES, help="the series plotted whole")
    r.add_argument("--doc", help="write the score table between the nab markers of this file")
    r.add_argument(
        "--corpus-alarms",
        type=Path,
        default=Path("build/corpus-fleet"),
        help="make corpus-table's fleets, whose alarms.json the table shows "
        "(default: build/corpus-fleet)",
    )
    add_dataclass_options(r, TrainConfig, skip=PER_SERIES)
    r.set_defaults(run=run)


def add_table(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "table",
        help="every exported file on every series: the fleet table",
        description="Train a model per NAB file on its first 15% (at most 750 rows), export "
        "every file, and tabulate on how many series each holds its bound and step / window "
        "test MSE per category (OUT/table.md; the fleet's fleet.md has a row per series).",
    )
    t.add_argument(
        "--out", type=Path, default=Path("build/fleet-table"), help="(default: build/fleet-table)"
    )
    add_cluster_options(t)
    t.add_argument("--doc", help="write the table between the fleet markers of this file")
    t.set_defaults(run=fleet_table)


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=2, help="local Dask workers (default: 2)")
    p.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--files", action="append", help="only files whose names contain this")


def add_score(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("score", help="score a detector's results in NAB's layout")
    s.add_argument("detector", help="e.g. numenta")
    s.add_argument("--results", default=str(DEFAULT_NAB / "results"), help="results folder")
    s.add_argument(
        "--nab-thresholds",
        action="store_true",
        help="at the thresholds in NAB's config/thresholds.json instead of the best ones",
    )
    s.set_defaults(run=score)


if __name__ == "__main__":
    run_cli(main)
