"""CLI: `python -m nab run` benchmarks the detector on the Numenta Anomaly Benchmark; `python -m nab
score DETECTOR` scores any detector's results in NAB's layout."""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fleet.inputs import PER_SERIES
from runtime.cli.args import ArgumentParser, run_cli
from runtime.errors import UserError
from training.cli import add_dataclass_options, changed_options
from training.config import TrainConfig

from .corpus import Corpus
from .detect import VARIANTS, Detection, stream_file
from .results import labels, result_path, score_detector, write_result

DEFAULT_NAB = Path(__file__).resolve().parent.parent.parent / "shared" / "nab"
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
SHOW_SERIES = "realKnownCause/machine_temperature_system_failure.csv"


def detector_name(variant: str) -> str:
    """NAB splits result names at '_': e.g. edge-c-int8 for the C int8 source."""
    return "edge-" + variant.replace("_", "-")


QUIET = "artificialNoAnomaly"  # NAB's files without an anomaly: every alarm there is false


def score_table(
    scores: dict[str, dict], board: dict[str, dict], quiet: dict[str, float] | None = None
) -> str:
    """Our detectors' three scores beside NAB's scoreboard (final_results.json), best first, and
    ours' alarms per 1,000 samples on the files without an anomaly (at the exported threshold,
    as a device raises them; NAB's scores use their own best threshold per profile)."""
    rows = {name: {p: s[p]["score"] for p in PROFILES} for name, s in scores.items()}
    rows |= {name: {p: b[p] for p in PROFILES} for name, b in board.items() if name not in rows}
    ours, quiet = set(scores), quiet or {}
    lines = [
        "| detector | standard | reward low FP | reward low FN | alarms / 1,000 without anomaly |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["standard"]):
        label = f"**{name}** (this project)" if name in ours else name
        rate = f"{quiet[name]:.2f}" if name in quiet else ""
        lines.append(f"| {label} | " + " | ".join(f"{r[p]:.1f}" for p in PROFILES) + f" | {rate} |")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Train a model per file, stream every file through each variant, write NAB results,
    score them, plot."""
    from .models import model_name, train_models
    from .plots import plot_category, plot_series

    corpus = Corpus(args.nab)
    series = corpus.select(args.files)
    out: Path = args.out
    t0 = time.perf_counter()
    train_args = changed_options(TrainConfig, args, PER_SERIES)
    rows = train_models(series, out / "models", args.workers, args.scheduler, train_args)
    trained = {r["series"] for r in rows if not r["error"]}
    for r in rows:
        if r["error"]:
            print(f"{r['series']}: no model ({r['error']}): its scores are 0", flush=True)
    t_train = time.perf_counter() - t0
    data = {s.name: s.read() for s in series}
    results: dict[str, dict] = {}
    quiet: dict[str, float] = {}  # alarms per 1,000 samples on the files without an anomaly
    seconds: dict[str, float] = {}
    for variant in args.variant:
        t1 = time.perf_counter()
        detector = detector_name(variant)

        def detect(s, variant=variant) -> Detection:
            if model_name(s) not in trained:
                n = len(data[s.name][0])
                empty = np.full(n, np.nan)
                return Detection(empty, empty, np.zeros(n), np.zeros(n, bool))
            return stream_file(args.python, out / "models" / model_name(s), s, variant)

        with ThreadPoolExecutor(args.workers) as pool:
            found = dict(zip([s.name for s in series], pool.map(detect, series), strict=True))
        for s in series:
            times, values = data[s.name]
            with s.path.open() as f:  # NAB's own timestamp text, as its run.py writes it
                stamps = [line.split(",")[0] for line in f.read().splitlines()[1:] if line]
            write_result(
                result_path(out / "results", detector, s),
                stamps,
                values,
                found[s.name].score,
                labels(times, s),
            )
        scores, _ = score_detector(corpus, out / "results", detector, args.files)
        results[detector] = scores
        calm = [found[s.name].anomaly for s in series if s.category == QUIET]
        if calm:
            quiet[detector] = 1000 * sum(a.sum() for a in calm) / sum(len(a) for a in calm)
        seconds[detector] = time.perf_counter() - t1
        print(
            f"{detector}: "
            + ", ".join(f"{p} {scores[p]['score']:.2f}" for p in PROFILES)
            + f" (threshold {scores['standard']['threshold']:.4f}; streamed in "
            f"{seconds[detector]:.0f}s)",
            flush=True,
        )
        if variant == args.variant[0]:
            plots = out / "plots"
            plots.mkdir(parents=True, exist_ok=True)
            for category in sorted({s.category for s in series}):
                items = [
                    (s, *data[s.name], found[s.name]) for s in series if s.category == category
                ]
                plot_category(plots / f"{category}.png", category, items)
            shown = next((s for s in series if s.name == args.show), series[0])
            plot_series(
                plots / "series.png",
                shown,
                *data[shown.name],
                found[shown.name],
                scores["standard"]["threshold"],
                f"{shown.name}: {detector}, standard profile's threshold (dashed)",
            )
    board_file = Path(args.nab) / "results" / "final_results.json"
    board = json.loads(board_file.read_text()) if board_file.is_file() and not args.files else {}
    table = score_table(results, board, quiet)
    summary = {
        "files": len(series),
        "trained": len(trained),
        "train_seconds": round(t_train, 1),
        "stream_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "scores": results,
        "alarms_per_1000_no_anomaly": quiet,
    }
    (out / "nab.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "nab.md").write_text(table)
    print(table)
    print(f"-> {out}/nab.md, nab.json, results/ (NAB's layout), plots/")
    if args.doc:
        from training.files import write_between_markers

        write_between_markers(Path(args.doc), "nab", table)
    return 0


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
    r.add_argument("--workers", type=int, default=2, help="local Dask workers (default: 2)")
    r.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://HOST:8786")
    r.add_argument("--files", action="append", help="only files whose names contain this")
    r.add_argument("--show", default=SHOW_SERIES, help="the series plotted whole")
    r.add_argument("--doc", help="write the score table between the nab markers of this file")
    add_dataclass_options(r, TrainConfig, skip=PER_SERIES)
    r.set_defaults(run=run)
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
    t.add_argument("--workers", type=int, default=2, help="local Dask workers (default: 2)")
    t.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://HOST:8786")
    t.add_argument("--files", action="append", help="only files whose names contain this")
    t.add_argument("--doc", help="write the table between the fleet markers of this file")
    t.set_defaults(run=fleet_table)
    s = sub.add_parser("score", help="score a detector's results in NAB's layout")
    s.add_argument("detector", help="e.g. numenta")
    s.add_argument("--results", default=str(DEFAULT_NAB / "results"), help="results folder")
    s.add_argument(
        "--nab-thresholds",
        action="store_true",
        help="at the thresholds in NAB's config/thresholds.json instead of the best ones",
    )
    s.set_defaults(run=score)
    args = parser.parse_args()
    if args.command == "run":
        args.variant = args.variant or ["int8"]
    return args.run(args)


if __name__ == "__main__":
    run_cli(main)
