"""The seed's homework: train a small grid of cell x units x layers and compare them."""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

from .config import TrainConfig
from .data import Series
from .files import staged
from .metrics import skill_text
from .plots import plt, save_figure
from .train import train

GRID = {"cell": ("lstm", "gru"), "units": (16, 50), "layers": (1, 2)}


def compare(
    base: TrainConfig, say: Callable[[str], None] = print, series: Series | None = None
) -> list[dict]:
    """Train every grid point on base's data (or `series`); write compare.md and compare.png
    into base.out."""
    rows = []
    combos = list(itertools.product(*GRID.values()))
    with tempfile.TemporaryDirectory() as scratch:
        for i, (cell, units, layers) in enumerate(combos, 1):
            cfg = dataclasses.replace(
                base, cell=cell, units=units, layers=layers, out=Path(scratch) / f"{i}"
            )
            say(f"[{i}/{len(combos)}] {cell} units={units} layers={layers}")
            meta = train(cfg, say=lambda _line: None, plots=False, series=series)
            rows.append(
                {
                    "cell": cell,
                    "units": units,
                    "layers": layers,
                    "params": meta["model"]["params"],
                    "test_mse": meta["metrics"]["test_mse"],
                    "skill": meta["metrics"]["skill"],
                    "seconds": meta["training"]["seconds"],
                }
            )
            say(
                f"      test MSE {rows[-1]['test_mse']:.3e}, {rows[-1]['params']} params, "
                f"{rows[-1]['seconds']:.1f}s"
            )
    rows.sort(key=lambda r: r["test_mse"])
    with staged(base.out) as tmp:
        (tmp / "compare.md").write_text(_table(rows, base))
        _plot(rows, tmp / "compare.png")
    say(
        f"best: {rows[0]['cell']} units={rows[0]['units']} layers={rows[0]['layers']} "
        f"(test MSE {rows[0]['test_mse']:.3e}) -> {base.out}/compare.md, compare.png"
    )
    return rows


def _table(rows: list[dict], base: TrainConfig) -> str:
    lines = [
        f"# Model comparison on `{base.data}` ({base.epochs} epochs, seed {base.seed})",
        "",
        "| cell | units | layers | params | test MSE | skill | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['cell']} | {r['units']} | {r['layers']} | {r['params']:,} | "
        f"{r['test_mse']:.3e} | {skill_text(r['skill'])} | "
        f"{r['seconds']:.1f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for cell, marker in (("lstm", "o"), ("gru", "s")):
        sel = [r for r in rows if r["cell"] == cell]
        ax.scatter(
            [r["params"] for r in sel],
            [r["test_mse"] for r in sel],
            marker=marker,
            label=cell.upper(),
            s=60,
        )
        for r in sel:
            ax.annotate(
                f"{r['units']}u x{r['layers']}",
                (r["params"], r["test_mse"]),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=8,
            )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="parameters",
        ylabel="test MSE (data units)",
        title="cell x units x layers",
    )
    ax.legend()
    save_figure(fig, path)
