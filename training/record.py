"""What a training run leaves: model.json's record, the files beside it, the closing lines."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from .config import TrainConfig
from .data import Series, Split
from .files import STREAM_FILE, staged, write_json
from .metrics import horizon_text, skill_text, skill_warning, step_ratio
from .model import build_model
from .plots import plot_history, plot_predictions

CALIBRATION_WINDOWS = 1000  # training windows kept for int8 calibration (evenly spaced)


@dataclass
class Run:
    """A trained window model, the model the step files are made from, and their data."""

    cfg: TrainConfig
    series: Series
    sp: Split
    model: keras.Model
    stream_model: keras.Model  # sequences in, a forecast per step: tuned or the window weights
    tuned: bool  # stream_model holds weights tuned for streaming
    history: dict
    seconds: float = 0.0
    z: np.ndarray = field(init=False)  # the whole series, normalized

    def __post_init__(self) -> None:
        self.z = self.sp.norm.inputs(self.series.values).astype(np.float32)


def record(run: Run, metrics: dict, residuals: np.ndarray, chosen: dict, versions: dict) -> dict:
    """model.json's content; `chosen`: what training chose (target, stream, rounding)."""
    cfg, model = run.cfg, run.model
    q999 = float(np.quantile(np.abs(residuals), 0.999)) if len(residuals) else None
    return {
        "format": "edge-forecaster/1",
        "window": cfg.window,
        **({"horizon": cfg.horizon} if cfg.horizon > 1 else {}),
        "normalization": run.sp.norm.to_dict(),
        "target": chosen["target"],
        "model": {
            "cell": cfg.cell,
            "units": cfg.units,
            "layers": cfg.layers,
            "params": int(model.count_params()),
        },
        "data": run.series.describe() | {"test_start": run.sp.test_start},
        "training": {
            "epochs": cfg.epochs,
            "batch_size": cfg.batch_size,
            "sequence_length": cfg.sequence_length,
            "seed": cfg.seed,
            "validation_split": cfg.validation_split,
            "test_fraction": cfg.test_fraction,
            "seconds": round(run.seconds, 2),
        },
        "metrics": metrics,
        "stream": chosen["stream"],
        "rounding": chosen["rounding"],
        "residuals": {
            "val_std": float(np.std(residuals)) if len(residuals) else None,
            "val_abs_q999": q999,
        },
        "versions": versions,
        "config": {
            k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(cfg).items()
        },
    }


def save(run: Run, meta: dict, test_pred: np.ndarray, plots: bool) -> None:
    """Write the run's files into cfg.out, all or none (training/files.staged)."""
    cfg, sp = run.cfg, run.sp
    calib = np.unique(np.linspace(0, len(sp.x_train) - 1, CALIBRATION_WINDOWS).astype(int))
    with staged(cfg.out) as tmp:
        run.model.save(tmp / "model.keras")
        if run.tuned:  # the tuned weights in the window model's shape, as export expects
            step_weights = build_model(cfg)
            step_weights.set_weights(run.stream_model.get_weights())
            step_weights.save(tmp / STREAM_FILE)
        write_json(tmp / "model.json", meta)
        np.savez(
            tmp / "windows.npz",
            test_x=sp.x_test,
            test_y=sp.y_test,
            test_pred=test_pred.astype(np.float32),
            calib_x=sp.x_train[calib],
            series=run.z,
            values=run.series.values,  # the samples, data units (the model's series may be steps)
        )
        if plots:
            title = f"{cfg.cell.upper()} x{cfg.layers} ({cfg.units}) on {run.series.source}"
            plot_history(run.history, tmp / "history.png", title)
            plot_predictions(
                sp.levels(sp.y_test),
                sp.levels(test_pred),
                tmp / "predictions.png",
                f"{title}: test MSE {meta['metrics']['test_mse']:.3g}, skill "
                f"{skill_text(meta['metrics']['skill'])} vs repeating the last value",
            )
    if not run.tuned:  # an earlier run's tuned weights no longer belong to this model
        (cfg.out / STREAM_FILE).unlink(missing_ok=True)


def summarize(run: Run, metrics: dict, plots: bool, say: Callable[[str], None]) -> None:
    """The run's closing lines: test MSE against repeating the last value, step mode, warnings."""
    tuned = run.tuned
    say(
        f"test MSE {metrics['test_mse']:.3e} (data units; repeating the last value: "
        f"{metrics['baseline_mse']:.3e}, skill {skill_text(metrics['skill'])}), "
        f"{run.model.count_params()} params, {run.seconds:.1f}s -> {run.cfg.out}/ (model.keras, "
        f"{STREAM_FILE + ', ' if tuned else ''}model.json, windows.npz"
        f"{', history.png, predictions.png' if plots else ''})"
    )
    ratio = step_ratio(metrics)
    say(
        f"step mode: test MSE {metrics['step_test_mse']:.3e} over the whole stream from a zero "
        f"state ({'n/a' if ratio is None else f'{ratio:.2f}x'} window mode), "
        + (f"weights tuned for streaming -> {STREAM_FILE}" if tuned else "window weights")
    )
    if "horizon_skill" in metrics:
        say(horizon_text(metrics))
    warning = skill_warning(run.sp, metrics)
    if warning:
        say(warning)
    sys.stdout.flush()
