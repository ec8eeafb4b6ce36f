"""Fine-tune a copy of the window model for step mode: the weights the step files are made from.

A model trained on windows starts every forecast from a zero state after exactly `window` samples.
Run as a step model over a stream of thousands of samples it meets states it never saw, and its
forecasts get worse (sine: 33x the window MSE; hourly temperatures: 12x). A few epochs on long
sequences, starting from the window weights and with the first window's forecasts left out of the
loss (a warm-up, as the runtime's), bring step mode level with window mode. The window model keeps
its own weights, so window mode loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from .config import TrainConfig
from .model import build_model
from .snap import hold_on_grid, release

SEQUENCE_WINDOWS = 4  # a tuning sequence is this many windows long; the first is warm-up
MAX_SEQUENCES = 1000  # sequences per epoch, evenly spaced over the training stream
LEARNING_RATE = 3e-4  # 1e-3 undid the sine's 2.6e-7 in one epoch; 1e-4 was slow on real series


def stream_forecasts(seq: keras.Model, stream: np.ndarray) -> np.ndarray:
    """Forecasts of a sequence model after every sample of `stream`, from a zero state."""
    return seq.predict(stream[None, :, None], verbose=0).reshape(-1)


def validation_start(train_series: np.ndarray, cfg: TrainConfig) -> int:
    """Where the validation part of the training stream starts (the fit part lies before)."""
    return len(train_series) - int((len(train_series) - cfg.window) * cfg.validation_split)


def validation_forecasts(
    seq: keras.Model, train_series: np.ndarray, cfg: TrainConfig
) -> np.ndarray:
    """The sequence model's forecasts of the validation part, streaming the training part."""
    return stream_forecasts(seq, train_series[:-1])[validation_start(train_series, cfg) - 1 :]


def tune_for_streaming(
    model: keras.Model,
    train_series: np.ndarray,
    cfg: TrainConfig,
    say: Callable[[str], None],
    on_grid: bool = False,
) -> tuple[keras.Model | None, dict]:
    """A sequence model holding the tuned weights, or None when tuning did not beat the window
    weights on the validation part of the training stream; and what was measured. on_grid: the
    large weights stay on the compact files' int8 grid, the others end as float16s (snap.py)."""
    seq = build_model(cfg, sequences=True)
    seq.set_weights(model.get_weights())
    if on_grid:
        hold_on_grid(seq)
    val_start = validation_start(train_series, cfg)
    targets = train_series[val_start:]

    def val_mse() -> float:  # stream the whole training part, score its validation tail
        return float(np.mean((validation_forecasts(seq, train_series, cfg) - targets) ** 2))

    fit = train_series[:val_start]
    length = min(SEQUENCE_WINDOWS * cfg.window, len(fit) - 1)
    starts = np.unique(np.linspace(0, len(fit) - length - 1, MAX_SEQUENCES).astype(int))
    x = np.stack([fit[s : s + length] for s in starts])[..., None]
    y = np.stack([fit[s + 1 : s + length + 1] for s in starts])[..., None]
    weight = np.zeros((len(x), length), np.float32)
    weight[:, min(cfg.window, length - 1) :] = 1  # warm-up: the first window is not scored

    seq.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    before = best = val_mse()
    say(
        f"stream tuning for the step files: validation stream MSE {before:.3e} before (model units)"
    )
    best_weights, best_epoch = None, 0
    for epoch in range(1, cfg.stream_epochs + 1):
        seq.fit(x, y, sample_weight=weight, batch_size=cfg.batch_size, epochs=1, verbose=0)
        mse = val_mse()
        say(f"stream tuning {epoch:>2}/{cfg.stream_epochs}  validation stream MSE {mse:.3e}")
        if mse < best:
            best, best_weights, best_epoch = mse, seq.get_weights(), epoch
    info = {"epochs": cfg.stream_epochs, "best_epoch": best_epoch}
    info |= {"val_stream_mse_before": before, "val_stream_mse_after": best}
    if best_weights is None:
        return None, info
    seq.set_weights(best_weights)
    if on_grid:
        release(seq)
    return seq, info
