"""Train one forecaster and write model.keras, model.json, windows.npz and the plots."""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import keras
import numpy as np
import tensorflow as tf

from runtime.windows import per_output

from .config import TrainConfig
from .data import Series, Split, load_series, sequences, split, targets
from .files import STREAM_FILE
from .metrics import horizon_metrics, mse_in_data_units, skill_metrics
from .model import build_model
from .record import Run, record, save, summarize
from .snap import GRID_EPOCHS, rounding_moves, too_sensitive, train_on_grid
from .streaming import (
    LEARNING_RATE,
    stream_forecasts,
    stressed_validation,
    tune_for_streaming,
    validation_forecasts,
)

# Keras retraces its predict function for each new remainder-batch shape (train, validation, test
# and the rounding checks each have one) and TensorFlow then warns about retracing: noise here.
tf.get_logger().setLevel("ERROR")

SEQUENCE_STRIDE = 1  # with --sequence-length, a training sequence starts at every sample


class EpochLine(keras.callbacks.Callback):
    """One progress line per epoch."""

    def __init__(self, epochs: int, say: Callable[[str], None]) -> None:
        super().__init__()
        self.epochs, self.say, self.t0 = epochs, say, time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val = f"  val_loss {logs['val_loss']:.3e}" if "val_loss" in logs else ""
        self.say(
            f"epoch {epoch + 1:>3}/{self.epochs}  loss {logs.get('loss', 0):.3e}{val}"
            f" (MSE, model units)  {time.perf_counter() - self.t0:5.1f}s"
        )


def seed_everything(seed: int) -> None:
    """Same seed and data -> same weights, shuffles and predictions."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def versions() -> dict:
    """Library versions recorded with every model."""
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Model outputs for windows x, (n,) (or (n, H) for H > 1), in normalized units."""
    return per_output(model.predict(x, batch_size=256, verbose=0))


@dataclass
class Fit:
    """A window model trained for one target, and what it was measured on."""

    model: keras.Model
    sp: Split
    history: dict
    val_mse: float | None


def fit_window_model(cfg: TrainConfig, values: np.ndarray, say: Callable[[str], None]) -> Fit:
    """Train the window model for cfg.target on the series' training part."""
    sp = split(values, cfg)
    seed_everything(cfg.seed)
    model = build_model(cfg)
    say(
        f"training {cfg.cell} x{cfg.layers} ({cfg.units} units, {model.count_params()} params), "
        f"target {cfg.target}: {len(sp.x_train)} train / {len(sp.x_test)} test windows of "
        f"{cfg.window}"
        + (f", fitted on sequences of {cfg.sequence_length}" if cfg.sequence_length else "")
    )
    if cfg.sequence_length:
        # Every step of long sequences is a target: the state learns to carry the history, so
        # the step files forecast as well as the windows do. The window model shares the weights.
        fit_model = build_model(cfg, sequences=True)
        x_fit, y_fit = sequences(
            sp.train_series, sp.train_outputs, cfg.sequence_length, SEQUENCE_STRIDE
        )
    else:
        fit_model, x_fit, y_fit = model, sp.x_train, sp.y_train
    hist = fit_model.fit(
        x_fit,
        y_fit,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        validation_split=cfg.validation_split,
        verbose=0,
        callbacks=[EpochLine(cfg.epochs, say)],
    )
    if fit_model is not model:
        model.set_weights(fit_model.get_weights())
    _, (val_x, val_y) = validation_split(sp, cfg)
    val_mse = mse_in_data_units(sp, predict(model, val_x), val_y) if len(val_x) else None
    return Fit(model, sp, hist.history, val_mse)


def validation_split(sp: Split, cfg: TrainConfig) -> tuple[tuple, tuple]:
    """(fit x, fit y), (validation x, y): keras takes the last part of the training windows."""
    n_val = int(len(sp.x_train) * cfg.validation_split)
    n_fit = len(sp.x_train) - n_val
    return (sp.x_train[:n_fit], sp.y_train[:n_fit]), (sp.x_train[n_fit:], sp.y_train[n_fit:])


def round_for_files(
    model: keras.Model, sp: Split, cfg: TrainConfig, say: Callable[[str], None]
) -> dict:
    """Measure how the compact files' rounding of the weights moves the forecasts, in window and
    step mode; when too far (training/snap.py), train the model onto the files' grids."""
    (fit_x, fit_y), (val_x, val_y) = validation_split(sp, cfg)
    seq = build_model(cfg, sequences=True)
    seq.set_weights(model.get_weights())
    stressed = stressed_validation(sp.train_series, cfg)
    moves = {
        "window": rounding_moves(model, lambda: predict(model, val_x)),
        "step": rounding_moves(seq, lambda: validation_forecasts(seq, sp, cfg)),
        "stressed": rounding_moves(model, lambda: predict(model, stressed)),
    }
    on_grid = any(too_sensitive(m) for m in moves.values())
    say(
        "rounding the weights as the compact files do (int8 / float16) moves validation "
        + ", ".join(f"{k} forecasts {m['int8']:.1e} / {m['float16']:.1e}" for k, m in moves.items())
        + (": training the model onto those grids" if on_grid else ": weights kept as trained")
    )
    info = {"moves": moves, "on_grid": on_grid}
    if on_grid:
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
        info |= train_on_grid(
            model,
            lambda: model.fit(fit_x, fit_y, batch_size=cfg.batch_size, epochs=1, verbose=0),
            lambda: mse_in_data_units(sp, predict(model, val_x), val_y),
            GRID_EPOCHS,
            say,
        )
    return info


def choose_target(cfg: TrainConfig, values: np.ndarray, say: Callable[[str], None]) -> tuple:
    """The fit for cfg.target, or with "auto" the one of both targets that validates better;
    and the validation MSE of each target tried."""
    fits = {t: fit_window_model(replace(cfg, target=t), values, say) for t in targets(cfg)}
    scores = {t: f.val_mse for t, f in fits.items()}
    best = min(fits, key=lambda t: math.inf if scores[t] is None else scores[t])
    if len(fits) > 1:
        say(
            "target auto: validation MSE "
            + ", ".join(f"{t} {v:.3e}" for t, v in scores.items() if v is not None)
            + f" -> {best}"
        )
    return fits[best], scores


def train(
    cfg: TrainConfig,
    say: Callable[[str], None] = print,
    plots: bool = True,
    series: Series | None = None,
) -> dict:
    """Train on `series` (default: cfg's), evaluate and write everything into cfg.out; returns
    the metadata written."""
    series = series or load_series(cfg)
    t0 = time.perf_counter()
    chosen, target_scores = choose_target(cfg, series.values, say)
    asked, cfg = cfg.target, replace(cfg, target=chosen.sp.norm.target)
    _, (val_x, _) = validation_split(chosen.sp, cfg)
    rounding = round_for_files(chosen.model, chosen.sp, cfg, say) if len(val_x) else None
    on_grid = bool(rounding and rounding["on_grid"])
    stream_model, stream_info = None, {}
    if cfg.stream_epochs and not cfg.sequence_length:  # a sequence-trained model needs none
        stream_model, stream_info = tune_for_streaming(
            chosen.model, chosen.sp, cfg, say, on_grid=on_grid
        )
    tuned = stream_model is not None
    if not tuned:  # the step files will run the window weights
        stream_model = build_model(cfg, sequences=True)
        stream_model.set_weights(chosen.model.get_weights())
    run = Run(cfg, series, chosen.sp, chosen.model, stream_model, tuned, chosen.history)
    run.seconds = time.perf_counter() - t0
    metrics, test_pred, residuals = evaluate(run)
    chose = {
        "target": {"asked": asked, "chosen": cfg.target, "val_mse": target_scores},
        "stream": stream_info | {"file": STREAM_FILE if tuned else None},
        "rounding": rounding or {"on_grid": False},
    }
    meta = record(run, metrics, residuals, chose, versions())
    save(run, meta, test_pred, plots)
    summarize(run, metrics, plots, say)
    return meta


def evaluate(run: Run) -> tuple[dict, np.ndarray, np.ndarray]:
    """The metrics in data units (window and step mode), the test forecasts (model units) and
    the validation residuals (data units)."""
    sp, model = run.sp, run.model
    (fit_x, fit_y), (val_x, val_y) = validation_split(sp, run.cfg)
    test_pred = predict(model, sp.x_test)
    val_pred = predict(model, val_x) if len(val_x) else None
    metrics = {
        "train_mse": mse_in_data_units(sp, predict(model, fit_x), fit_y),
        "val_mse": None if val_pred is None else mse_in_data_units(sp, val_pred, val_y),
        "test_mse": mse_in_data_units(sp, test_pred, sp.y_test),
    }
    metrics |= skill_metrics(sp, metrics["test_mse"]) | horizon_metrics(sp, test_pred)
    first = sp.test_start - 1  # the input after which the first test outputs are due
    step_pred = stream_forecasts(run.stream_model, run.z[: first + len(sp.y_test)])[first:]
    metrics["step_test_mse"] = mse_in_data_units(sp, step_pred, sp.y_test)
    # the anomaly score's residuals: the next sample's
    residuals = (
        np.zeros(0)
        if val_pred is None
        else (sp.norm.decode(val_pred) - sp.norm.decode(val_y)).reshape(len(val_y), -1)[:, 0]
    )
    return metrics, test_pred, residuals
