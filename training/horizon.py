"""Forecasts over a horizon, judged by the long-horizon protocol: `python -m training.horizon`
(make horizon-table).

The protocol of Informer, Autoformer and DLinear (../shared/ett/README.md): the rows used are
split 60/20/20 in time (ETTh1's first 14,400 rows: 8,640 train, 2,880 validation, 2,880 test);
scores are in the training rows' z-score units; a test window starts at every row whose horizon
ends inside the test part. For each horizon the default forecaster is trained on the rows before
the test part (python -m training --horizon H), exported (the float32 and full-integer files, window
and step mode), and each file is run by the runtime on every test window: a window file on the
window before it, a step file as one stream from the first row. Persistence (the last value
repeated) on the same windows checks that the windows are the protocol's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.cli.args import ArgumentParser, run_cli
from runtime.forecaster import open_model
from runtime.manifest import variant_key
from runtime.sources import read_csv_column
from runtime.stream import Stream

from .files import commit, write_between_markers

REPO = Path(__file__).resolve().parent.parent
ETTH1 = REPO.parent / "shared" / "ett" / "ETTh1.csv"
HORIZONS = (96, 192, 336, 720)
PARTS = (0.6, 0.8)  # where validation and test start, as fractions of the rows used
FILES = ("float32", "int8", "step:float32", "step:int8")  # key: variant, step: a step file
# the training options of the table (the window of the Transformers' protocol; a few epochs:
# validation stops improving after three or four at H = 96)
TRAIN_ARGS = ["--window", "96", "--epochs", "4", "--target", "change"]
NLINEAR_HISTORY = 336  # the linear models' input length in the published results
RIDGE = 1e-3  # a touch of ridge keeps the solve well posed; it moves no score's third digit
# ETTh1's published univariate test MSE (../shared/ett/README.md, from the DLinear paper)
PUBLISHED = {
    "NLinear": (0.053, 0.069, 0.081, 0.080),
    "DLinear": (0.056, 0.071, 0.098, 0.189),
    "Autoformer": (0.071, 0.114, 0.107, 0.126),
    "Informer": (0.193, 0.217, 0.202, 0.183),
}


@dataclass
class Protocol:
    """The rows used, where the test part starts, and the score's units."""

    values: np.ndarray
    test_start: int
    mean: float
    std: float

    @classmethod
    def of(cls, values: np.ndarray) -> Protocol:
        """Split the rows 60/20/20; standardize with the training rows' mean and deviation."""
        train_end, test_start = (int(len(values) * f) for f in PARTS)
        train = values[:train_end]
        return cls(values, test_start, float(train.mean()), float(train.std()))

    def starts(self, horizon: int) -> np.ndarray:
        """The first forecast row of every test window."""
        return np.arange(self.test_start, len(self.values) - horizon + 1)

    def truth(self, horizon: int) -> np.ndarray:
        """What came after each test window, (n, horizon)."""
        return np.stack([self.values[t : t + horizon] for t in self.starts(horizon)])

    def score(self, pred: np.ndarray, horizon: int) -> dict:
        """MSE and MAE over every window and step, in the training rows' z-score units."""
        err = (np.asarray(pred) - self.truth(horizon)) / self.std
        return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err)))}


def persistence(p: Protocol, horizon: int) -> np.ndarray:
    """The last value before each test window, repeated over the horizon."""
    last = p.values[p.starts(horizon) - 1]
    return np.repeat(last[:, None], horizon, axis=1)


def nlinear(p: Protocol, horizon: int, history: int = NLINEAR_HISTORY) -> np.ndarray:
    """NLinear (Zeng et al.), fitted here by least squares on the training rows' windows: the
    next `horizon` samples as a linear map of the `history` before them, all less the last one.
    A reference computed on the same windows (on ETTh1 it gives the published numbers)."""
    z = (p.values - p.mean) / p.std
    train_end = int(len(p.values) * PARTS[0])

    def design(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.stack([z[t - history : t] for t in starts])
        return np.hstack([x - x[:, -1:], np.ones((len(x), 1))]), x[:, -1:]

    fit = np.arange(history, train_end - horizon + 1)
    a, last = design(fit)
    b = np.stack([z[t : t + horizon] for t in fit]) - last
    w = np.linalg.solve(a.T @ a + RIDGE * np.eye(a.shape[1]), a.T @ b)
    a, last = design(p.starts(horizon))
    return (a @ w + last) * p.std + p.mean


def window_forecasts(folder: Path, variant: str, p: Protocol, horizon: int) -> tuple:
    """A window file's forecasts for every test window, and its time per forecast (µs)."""
    model = open_model(folder, variant=variant, mode="window")
    need = model.window + model.norm.lead
    hist = np.stack([p.values[t - need : t] for t in p.starts(horizon)])
    t0 = time.perf_counter()
    pred = model.predict(hist)
    return pred, (time.perf_counter() - t0) / len(hist) * 1e6


def step_forecasts(folder: Path, variant: str, p: Protocol, horizon: int) -> tuple:
    """A step file's forecasts, streamed from the first row, for every test window, and its
    time per sample (µs)."""
    stream = Stream(open_model(folder, variant=variant, mode="step"))
    first, starts = p.starts(horizon)[0], p.starts(horizon)
    out = np.empty((len(starts), horizon))
    t0 = time.perf_counter()
    for t in range(starts[-1]):
        ahead = stream.push(p.values[t])
        if t + 1 >= first:
            out[t + 1 - first] = ahead
    return out, (time.perf_counter() - t0) / starts[-1] * 1e6


def train_and_export(csv: Path, column: str, rows: int, horizon: int, out: Path) -> dict:
    """Train on the rows before the test part (its last quarter is training's own test split:
    the protocol's validation rows), export FILES; the manifest. A folder that holds them,
    trained with these settings, is kept (a second run only scores)."""
    options = ["--data", str(csv), "--column", column, "--rows", str(rows)]
    options += ["--test-fraction", "0.25", "--horizon", str(horizon), *TRAIN_ARGS]
    if done(out, options):
        print(f"  {out}: trained and exported with these settings before; kept", flush=True)
        return json.loads((out / "manifest.json").read_text())
    train = [sys.executable, "-m", "training", *options, "--out", str(out)]
    subprocess.run(train, check=True, cwd=REPO)
    variants = sorted({f.removeprefix("step:") for f in FILES})
    export = [sys.executable, "-m", "export", "--dir", str(out), "--variants", ",".join(variants)]
    if subprocess.run(export, cwd=REPO).returncode not in (0, 1):  # 1: a file missed its bound
        raise RuntimeError(f"the export of {out} failed")
    return json.loads((out / "manifest.json").read_text())


def done(out: Path, options: list[str]) -> bool:
    """Whether out holds a model trained with these options, and its exported files."""
    try:
        config = json.loads((out / "model.json").read_text())["config"]
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError, KeyError):
        return False
    pairs = dict(zip(options[::2], options[1::2], strict=True))
    same = all(str(config.get(k[2:].replace("-", "_"))) == v for k, v in pairs.items())
    exported = {variant_key(f["variant"], f["mode"]) for f in manifest["files"]}
    return same and exported >= set(FILES)


def run_horizon(csv: Path, column: str, p: Protocol, horizon: int, out: Path) -> dict:
    """One horizon: persistence and every file's scores, sizes and times."""
    folder = out / f"h{horizon}"
    manifest = train_and_export(csv, column, p.test_start, horizon, folder)
    meta = json.loads((folder / "model.json").read_text())
    result = {"persistence": p.score(persistence(p, horizon), horizon), "files": {}}
    result["nlinear"] = p.score(nlinear(p, horizon), horizon)
    result["params"] = meta["model"]["params"]
    for key in FILES:
        mode, _, variant = key.rpartition(":")
        run = step_forecasts if mode == "step" else window_forecasts
        pred, us = run(folder, variant, p, horizon)
        entry = next(f for f in manifest["files"] if variant_key(f["variant"], f["mode"]) == key)
        result["files"][key] = p.score(pred, horizon) | {
            "us": us,
            "bytes": entry["bytes"],
            "passed": entry["parity"]["passed"],  # held to its bound by the export's gate
        }
        print(f"  H={horizon} {key}: MSE {result['files'][key]['mse']:.4f}", flush=True)
    return result


def _cell(f: dict) -> str:
    """A file's MSE / MAE, marked where the gate found it over its bound."""
    missed = "" if f.get("passed", True) else " (over its bound)"
    return f"{f['mse']:.4f} / {f['mae']:.3f}{missed}"


def markdown(name: str, p: Protocol, results: dict[int, dict]) -> str:
    """The table: test MSE / MAE per horizon for persistence and each file, then sizes."""
    head = "| H | windows | persistence | NLinear, fitted here | "
    head += " | ".join(f"`{k}`" for k in FILES)
    published = name == "ETTh1"
    lines = [head + (" | NLinear, published | DLinear, published |" if published else " |")]
    lines.append("|---:" * (4 + len(FILES) + 2 * published) + "|")
    for h, r in results.items():
        cells = [f"{r[k]['mse']:.4f} / {r[k]['mae']:.3f}" for k in ("persistence", "nlinear")]
        cells += [_cell(r["files"][k]) for k in FILES]
        if published and h in HORIZONS:
            cells += [f"{PUBLISHED[m][HORIZONS.index(h)]:.3f}" for m in ("NLinear", "DLinear")]
        lines.append(f"| {h} | {len(p.starts(h)):,} | " + " | ".join(cells) + " |")
    lines += ["", "| H | params | " + " | ".join(f"`{k}` bytes, µs" for k in FILES) + " |"]
    lines.append("|---:" * (2 + len(FILES)) + "|")
    for h, r in results.items():
        sizes = [f"{r['files'][k]['bytes']:,}, {r['files'][k]['us']:.0f}" for k in FILES]
        lines.append(f"| {h} | {r['params']:,} | " + " | ".join(sizes) + " |")
    return "\n".join(lines) + f"\n\nMeasured at {commit()}.\n"


def main() -> int:
    """Run the protocol on a series for each horizon; write the table."""
    parser = ArgumentParser(
        prog="python -m training.horizon",
        description="Train, export and score forecasts of the next H samples by the long-horizon "
        "protocol (60/20/20 split in time, z-score units of the training rows, a test window at "
        "every row), beside persistence; the table goes to OUT/NAME.md and docs/horizon.md.",
    )
    parser.add_argument("--data", type=Path, default=ETTH1, help="CSV (default: ETTh1)")
    parser.add_argument("--column", default="OT", help="column (default: OT)")
    parser.add_argument("--rows", type=int, default=14400, help="rows used (default: 14400)")
    parser.add_argument("--horizons", default=",".join(map(str, HORIZONS)), help="comma-separated")
    parser.add_argument("--out", type=Path, default=Path("build") / "horizon", help="work folder")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "horizon.md")
    args = parser.parse_args()
    samples = read_csv_column(args.data, args.column)[: args.rows]
    p = Protocol.of(np.array([s.values[0] for s in samples], dtype=np.float64))
    name = args.data.stem
    results = {}
    for h in (int(x) for x in args.horizons.split(",")):
        print(f"{name} H={h}: persistence MSE {p.score(persistence(p, h), h)['mse']:.4f}")
        results[h] = run_horizon(args.data, args.column, p, h, args.out / name)
    table = markdown(name, p, results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text(table)
    write_between_markers(args.doc, f"horizon-{name}", table)
    print(table + f"-> {args.out}/{name}.md and {args.doc}")
    return 0


if __name__ == "__main__":
    run_cli(main)
