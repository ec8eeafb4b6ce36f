"""`python -m nab run`: a model per NAB file, every file streamed through each step file, the
results in NAB's layout, scored by NAB's rules and plotted."""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fleet.inputs import PER_SERIES
from fleet.report import provenance
from training.cli import changed_options
from training.config import TrainConfig

from .corpus import Corpus, Series
from .detect import Detection, stream_file
from .results import labels, result_path, score_detector, write_result

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
QUIET = "artificialNoAnomaly"  # NAB's files without an anomaly: every alarm there is false


def detector_name(variant: str) -> str:
    """NAB splits result names at '_': e.g. edge-c-int8 for the C int8 source."""
    return "edge-" + variant.replace("_", "-")


def score_table(
    scores: dict[str, dict],
    board: dict[str, dict],
    quiet: dict[str, float] | None = None,
    corpus: dict[str, str] | None = None,
) -> str:
    """Our detectors' three scores beside NAB's scoreboard (final_results.json), best first, and
    ours' alarms per 1,000 samples on the files without an anomaly (at the exported threshold,
    as a device raises them; NAB's scores use their own best threshold per profile) and, where
    measured, on the non-NAB corpus (`corpus`: per detector, the cell's text)."""
    rows = {name: {p: s[p]["score"] for p in PROFILES} for name, s in scores.items()}
    rows |= {name: {p: b[p] for p in PROFILES} for name, b in board.items() if name not in rows}
    ours, quiet, corpus = set(scores), quiet or {}, corpus or {}
    lines = [
        "| detector | standard | reward low FP | reward low FN | alarms / 1,000 without anomaly "
        "| alarms / 1,000, non-NAB corpus |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["standard"]):
        label = f"**{name}** (this project)" if name in ours else name
        rate = f"{quiet[name]:.2f}" if name in quiet else ""
        cells = " | ".join(f"{r[p]:.1f}" for p in PROFILES)
        lines.append(f"| {label} | {cells} | {rate} | {corpus.get(name, '')} |")
    return "\n".join(lines) + "\n"


def corpus_alarms(folder: Path) -> dict[str, str]:
    """Per detector, the alarms per 1,000 samples that `make corpus-table` counted on the non-NAB
    corpus (its sets' alarms.json under `folder`): all together, with the series and the commit
    it was measured at; nothing where it has not run."""
    from fleet.alarms import ALARMS

    found: dict[str, list[dict]] = {}
    for path in sorted(folder.glob(f"*/{ALARMS}")):
        try:
            measured = json.loads(path.read_text())
            found.setdefault(detector_name(measured["variant"]), []).append(measured)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an older file without its commit, or a damaged one: not shown
    out = {}
    for name, sets in found.items():
        series = [r for m in sets for r in m["series"].values()]
        rate = 1000 * sum(r["alarms"] for r in series) / max(1, sum(r["samples"] for r in series))
        commits = ", ".join(sorted({m["commit"] for m in sets}))
        out[name] = f"{rate:.2f} ({len(series)} series, at {commits})"
    return out


def run(args: argparse.Namespace) -> int:
    """Train a model per file, stream every file through each variant, write NAB results,
    score them, plot."""
    from .models import train_models

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
    results, quiet, seconds = {}, {}, {}  # quiet: alarms per 1,000 on files without an anomaly
    for variant in args.variant:
        t1 = time.perf_counter()
        detector = detector_name(variant)
        found = detect_all(args, series, data, trained, variant)
        write_results(out / "results", detector, series, data, found)
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
            plot(out / "plots", args.show, series, data, found, detector, scores)
    table = heading(rows) + score_table(
        results, published(args), quiet, corpus_alarms(args.corpus_alarms)
    )
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


def heading(rows: list[dict]) -> str:
    """The table's first line: the commit, and how many models an earlier run made."""
    return f"{provenance(rows)}, by `make nab`.\n\n"


def published(args: argparse.Namespace) -> dict:
    """NAB's published results (its leaderboard), when the whole corpus was scored."""
    board_file = Path(args.nab) / "results" / "final_results.json"
    return json.loads(board_file.read_text()) if board_file.is_file() and not args.files else {}


def detect_all(args, series: list[Series], data: dict, trained: set, variant: str) -> dict:
    """Each file streamed through its model's `variant` file (no model: scores of 0)."""
    from .models import model_name

    def detect(s: Series) -> Detection:
        if model_name(s) not in trained:
            n = len(data[s.name][0])
            empty = np.full(n, np.nan)
            return Detection(empty, empty, np.zeros(n), np.zeros(n, bool))
        return stream_file(args.python, args.out / "models" / model_name(s), s, variant)

    with ThreadPoolExecutor(args.workers) as pool:
        return dict(zip([s.name for s in series], pool.map(detect, series), strict=True))


def write_results(results: Path, detector: str, series: list, data: dict, found: dict) -> None:
    """The detector's scores in NAB's layout, a CSV per file."""
    for s in series:
        times, values = data[s.name]
        with s.path.open() as f:  # NAB's own timestamp text, as its run.py writes it
            stamps = [line.split(",")[0] for line in f.read().splitlines()[1:] if line]
        path = result_path(results, detector, s)
        write_result(path, stamps, values, found[s.name].score, labels(times, s))


def plot(plots: Path, show: str, series: list, data: dict, found: dict, detector, scores) -> None:
    """A plot per category, and one series whole at the standard profile's threshold."""
    from .plots import plot_category, plot_series

    plots.mkdir(parents=True, exist_ok=True)
    for category in sorted({s.category for s in series}):
        items = [(s, *data[s.name], found[s.name]) for s in series if s.category == category]
        plot_category(plots / f"{category}.png", category, items)
    shown = next((s for s in series if s.name == show), series[0])
    plot_series(
        plots / "series.png",
        shown,
        *data[shown.name],
        found[shown.name],
        scores["standard"]["threshold"],
        f"{shown.name}: {detector}, standard profile's threshold (dashed)",
    )
