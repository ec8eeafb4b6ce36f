"""Alarms on ordinary data: `python -m fleet.alarms FLEET_OUT CORPUS_DIR` streams every series of a
fleet, whole and from a fresh stream, through one file of its model (the int8 step file unless
--variant says) and counts the anomalies per 1,000 samples. The series have no labelled faults:
every alarm counts. Beside it, the same residuals scored from an empty range, as streams did
before the training range reached the score: what the novelty rule cost there."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from runtime.anomaly import AnomalyScore
from runtime.cli.args import ArgumentParser, run_cli
from runtime.forecaster import open_model
from runtime.sources import read_csv_column
from runtime.stream import Stream
from training.files import commit, write_between_markers

ALARMS = "alarms.json"  # in the fleet's folder: what make nab's table reads (nab/run.py)


def count(model_dir: Path, series: Path, variant: str, mode: str) -> dict:
    """Alarms streaming `series` through the model's file, and from an empty range."""
    model = open_model(model_dir, variant, mode)
    values = [s.values[0] for s in read_csv_column(series, "value") if s.values]
    stream = Stream(model)
    empty = AnomalyScore(period=model.anomaly_period, scale=model.norm.scale)
    alarms = before = 0
    for v in values:
        stream.push(v)
        alarms += bool(stream.anomaly)
        size = None if stream.residual is None else abs(stream.residual) / model.norm.scale
        score = empty.push(v, size)
        before += score is not None and score >= stream.threshold
    return {"samples": len(values), "alarms": alarms, "before": before}


def table(rows: dict[str, dict], variant: str, mode: str) -> str:
    per = {k: 1000 * r["alarms"] / r["samples"] for k, r in rows.items()}
    was = {k: 1000 * r["before"] / r["samples"] for k, r in rows.items()}
    total = sum(r["samples"] for r in rows.values())
    lines = [
        f"At {commit()}. Alarms per 1,000 samples, each series streamed whole from a fresh stream "
        f"through its {mode} {variant} file: median {np.median(list(per.values())):.2f}, "
        f"all together "
        f"{1000 * sum(r['alarms'] for r in rows.values()) / total:.2f} "
        f"({np.median(list(was.values())):.2f} and "
        f"{1000 * sum(r['before'] for r in rows.values()) / total:.2f} from an empty range).",
        "",
        "| series | samples | alarms per 1,000 | from an empty range |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {k} | {rows[k]['samples']:,} | {per[k]:.2f} | {was[k]:.2f} |" for k in sorted(rows)
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = ArgumentParser(prog="python -m fleet.alarms", description=__doc__.split("\n\n")[0])
    parser.add_argument("fleet", type=Path, help="a fleet's output folder")
    parser.add_argument("corpus", type=Path, help="the folder of the fleet's CSV files")
    parser.add_argument("--variant", default="int8")
    parser.add_argument("--mode", default="step")
    parser.add_argument("--doc", type=Path, help="write the table into this file's block")
    parser.add_argument("--block", help="the block's name (default: alarms-FOLDER)")
    args: argparse.Namespace = parser.parse_args()
    rows = {}
    for csv in sorted(args.corpus.rglob("*.csv")):
        name = str(csv.relative_to(args.corpus).with_suffix(""))
        if (args.fleet / name / "manifest.json").is_file():
            rows[name] = count(args.fleet / name, csv, args.variant, args.mode)
    text = table(rows, args.variant, args.mode)
    measured = {"commit": commit(), "variant": args.variant, "mode": args.mode, "series": rows}
    (args.fleet / ALARMS).write_text(json.dumps(measured, indent=2) + "\n")
    if args.doc:
        write_between_markers(args.doc, args.block or f"alarms-{args.fleet.name}", text)
    print(text)  # last: a reader that stops early (| head) loses nothing the count wrote
    return 0


if __name__ == "__main__":
    run_cli(main)
