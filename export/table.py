"""Where each exported file holds: train and export every series, one table of max deviations.

`python -m export.table` (make quant-table) trains the default model on the seed's sine, the
sensor signal, the weather series and the two NAB series beside the repository (../shared/data),
as training/targets.py defines them, exports each, and writes the variant x series table to
OUT/quant-table.md and into docs/export.md between its quant-table markers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from runtime.cli.args import run_cli
from training.targets import series_args, table_main

from .variants import VARIANTS

REPO = Path(__file__).resolve().parent.parent
QUANT_SERIES = ["sine", "sensor", "weather", "NAB ambient", "NAB EC2"]


def run(out: Path, names: list[str]) -> dict[str, dict]:
    """Train and export each series into out/NAME; their manifests by series."""
    manifests = {}
    for i, name in enumerate(names, 1):
        folder = out / name.replace(" ", "-").lower()
        args = series_args(name)
        t0 = time.perf_counter()
        print(f"[{i}/{len(names)}] {name}: training and exporting into {folder}/", flush=True)
        train = [sys.executable, "-m", "training", "--out", str(folder), *args]
        subprocess.run(train, check=True, cwd=REPO)
        subprocess.run([sys.executable, "-m", "export", "--dir", str(folder)], cwd=REPO)
        manifests[name] = json.loads((folder / "manifest.json").read_text())
        print(f"      {time.perf_counter() - t0:.0f}s", flush=True)
    return manifests


def markdown(manifests: dict[str, dict]) -> str:
    """The variant x series table: max deviation on held test inputs and stress, pass/fail."""
    names = list(manifests)
    lines = [
        "| file | bound | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for v in VARIANTS:
        cells = []
        for name in names:
            f = next((f for f in manifests[name]["files"] if f["file"] == v.filename), None)
            if f is None:
                cells.append("not exported")
                continue
            p = f["parity"]
            dev = max(p["max_abs"], p["stress_max_abs"])
            cells.append(f"{dev:.1e} ok" if p["passed"] else f"**{dev:.1e} FAILED**")
        lines.append(f"| {v.filename} | {v.tolerance:.0e} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Train and export every series, write the table."""
    return table_main(
        "python -m export.table",
        "Train the default model on each series, export it, and write a table of the larger of "
        "the max deviation on the test inputs and on the stress inputs, per file and series, "
        "with the gate's verdict (about 10 minutes).",
        QUANT_SERIES,
        lambda out, names: markdown(run(out, names)),
        "quant-table",
        "export.md",
    )


if __name__ == "__main__":
    run_cli(main)
