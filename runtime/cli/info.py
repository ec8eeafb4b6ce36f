"""`info`: what a model file, or every file of an artifacts folder, is."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..anomaly import THRESHOLD
from ..errors import UserError
from ..interpreters import default_backend, version_of
from ..manifest import find_entry, io_types, read_manifest


def add(sub: argparse._SubParsersAction) -> None:
    """The info command's parser."""
    i = sub.add_parser("info", help="describe a model file or an artifacts folder")
    i.add_argument("target", nargs="?", default="artifacts", help="file or folder")
    i.set_defaults(run=run)


def _forecasts(horizon: int, norm: dict) -> str:
    """What the model's outputs are, and how they become data units."""
    if horizon > 1 and norm.get("target") == "change":
        return (
            f"forecasts the next {horizon} samples' changes from the last: change = model * "
            f"{norm['horizon_scale']:.6g}; input step"
        )
    ahead = f"the next {horizon} samples" if horizon > 1 else "the step to the next sample"
    if norm.get("target") == "change":
        return f"forecasts {ahead}: step"
    return f"forecasts {ahead}: data" if horizon > 1 else "data"


def run(args: argparse.Namespace) -> int:
    """Print what a model file (or every file in a folder) is."""
    target = Path(args.target)
    folder = target if target.is_dir() else target.parent
    manifest = read_manifest(folder)
    names = [f["file"] for f in manifest["files"]] if target.is_dir() else [target.name]
    model = manifest["model"]
    norm = model["normalization"]
    print(
        f"{folder}/: {model['cell'].upper()} x{model['layers']} ({model['units']} units), "
        f"window {model['window']}, "
        + _forecasts(model.get("horizon", 1), norm)
        + f" = model * {norm['scale']:.6g} + {norm['center']:.6g}, anomaly from score "
        + f"{model.get('anomaly', {}).get('threshold', THRESHOLD):.3g}"
    )
    if "test_mse" in model:
        mse = model["test_mse"]
        print(
            f"  test MSE: window mode {mse['window']:.3g}, step mode {mse['step']:.3g} "
            f"(step files from {model.get('step_weights', 'model.keras')}); "
            f"stream runs {model['best_mode']} mode unless --mode says otherwise"
        )
    width = max(len(n) for n in names)
    for name in names:
        e = find_entry(folder / name)
        p = e.info.get("parity", {})
        try:
            runner = default_backend(e.format)
            runner = f"{runner} {version_of(runner)}"
        except UserError:
            runner = "no interpreter installed"
        verdict = "pass" if p.get("passed") else "FAILED"
        need = e.info.get("min_runtime_version")
        print(
            f"  {name:<{width}} {e.info.get('mode', 'window'):<6} {e.variant:<17} "
            f"{e.info['bytes']:>8,} B  max dev {p.get('max_abs', math.nan):.1e} <= "
            f"{p.get('tolerance', math.nan):.0e} {verdict:<6}  {io_types(e.info)};  "
            f"runs on {runner}" + (f" (needs TFLite >= {need})" if need else "")
        )
    return 0
