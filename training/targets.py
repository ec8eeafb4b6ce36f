"""Level or change, window or step: `python -m training.targets` (make target-table).

Trains the default model on each series once per target and writes one table, series x target:
test MSE and skill against repeating the last value in window and step mode, step / window, and
which target `--target auto` keeps (the lower validation MSE). It goes to OUT/target-table.md and
into docs/export.md between its target-table markers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from runtime.cli.args import ArgumentParser, run_cli

from .files import write_between_markers

REPO = Path(__file__).resolve().parent.parent
NAB = REPO.parent / "shared" / "data"  # the NAB series beside the repository, if there
# name -> training options: the series the quantization and target tables are measured on
SERIES = {
    "sine": [],
    "drift": ["--data", "drift"],
    "sensor": ["--data", "sensor"],
    "weather": ["--data", "weather"],
    "NAB ambient": ["--data", str(NAB / "ambient_temperature_system_failure.csv")],
    "NAB EC2": ["--data", str(NAB / "ec2_request_latency_system_failure.csv")],
    "MSFT": ["--data", "stocks:MSFT", "--window", "12"],
    "AMZN": ["--data", "stocks:AMZN", "--window", "12"],
    "IBM": ["--data", "stocks:IBM", "--window", "12"],
}
TARGETS = ("level", "change")


def series_args(name: str) -> list[str]:
    """The training options of a series; the NAB files keep their reading in column `value`."""
    return SERIES[name] + (["--column", "value"] if name.startswith("NAB") else [])


def available(names: list[str]) -> list[str]:
    """Those of the series that can be trained here."""
    if not NAB.is_dir():
        print(f"note: {NAB} is missing; the NAB series are left out", file=sys.stderr)
    return [n for n in names if NAB.is_dir() or not n.startswith("NAB")]


def run(out: Path, names: list[str]) -> dict[str, dict[str, dict]]:
    """model.json of each series and target, trained into out/SERIES-TARGET."""
    metas: dict[str, dict[str, dict]] = {}
    for i, name in enumerate(names, 1):
        t0 = time.perf_counter()
        print(f"[{i}/{len(names)}] {name}", flush=True)
        for target in TARGETS:
            folder = out / f"{name.replace(' ', '-').lower()}-{target}"
            cmd = [sys.executable, "-m", "training", "--out", str(folder), "--target", target]
            subprocess.run([*cmd, *series_args(name)], check=True, cwd=REPO)
            metas.setdefault(name, {})[target] = json.loads((folder / "model.json").read_text())
        print(f"      {time.perf_counter() - t0:.0f}s", flush=True)
    return metas


def markdown(metas: dict[str, dict[str, dict]]) -> str:
    """Series x target: MSE and skill per mode, step / window, and auto's choice."""
    lines = [
        "| series | target | window MSE | skill | step MSE | skill | step / window | auto |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, by_target in metas.items():
        val = {t: m["metrics"]["val_mse"] for t, m in by_target.items()}
        for target, meta in by_target.items():
            m = meta["metrics"]
            window, step, base = m["test_mse"], m["step_test_mse"], m["baseline_mse"]
            skill = {k: f"{1 - v / base:.2f}" if base else "n/a" for k, v in m.items()}
            lines.append(
                f"| {name} | {target} | {window:.3g} | {skill['test_mse']} "
                f"| {step:.3g} | {skill['step_test_mse']} "
                f"| {step / window:.2f} "
                f"| {'kept' if min(val, key=val.get) == target else ''} |"
            )
    return "\n".join(lines) + "\n"


def table_main(prog: str, description: str, names: list[str], build, marker: str, doc: str) -> int:
    """The command line of a table over series: train into --out, write the table into
    OUT/MARKER.md and into docs/DOC between its markers. build(out, names) -> markdown."""
    parser = ArgumentParser(prog=prog, description=description)
    parser.add_argument("--out", type=Path, default=Path("build") / marker, help="work folder")
    default = REPO / "docs" / doc
    parser.add_argument("--doc", type=Path, default=default, help=f"(default: docs/{doc})")
    parser.add_argument("--series", action="append", choices=names, help="only these (repeatable)")
    args = parser.parse_args()
    table = build(args.out, available(args.series or names))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{marker}.md").write_text(table)
    write_between_markers(args.doc, marker, table)
    print(table + f"-> {args.out}/{marker}.md and {args.doc}")
    return 0


def main() -> int:
    """Train every series for each target, write the table."""
    return table_main(
        "python -m training.targets",
        "Train the default model on each series for each target (level, change) and write a "
        "table of test MSE and skill against repeating the last value, in window and step mode "
        "(about 10 minutes).",
        list(SERIES),
        lambda out, names: markdown(run(out, names)),
        "target-table",
        "export.md",
    )


if __name__ == "__main__":
    run_cli(main)
