"""Fine-tune a copy of the window model for step mode: the weights the step files are made from.

A model trained on windows starts every forecast from a zero state after exactly `window` samples.
Run as a step model over a stream of thousands of samples it meets states it never saw, and its
forecasts get worse (sine: 33x the window MSE; hourly temperatures: 12x). A few epochs on long
sequences, starting from the window weights and with the first window's forecasts left out of the
loss (a warm-up, as the runtime's), bring step mode level with window mode. The window model keeps
its own weights, so window mode loses nothing.

Tuning can also make the step model touchy: on monthly sunspots it learned a state that moves its
forecasts on stressed windows 1.1e-1 when its weights are rounded as a dynamic-range file rounds
them (the window weights: 1.9e-3), and every compact step file then missed its bound. An epoch's
weights are kept only when that rounding moves the stressed validation windows' forecasts within
the budget training holds the window model to (snap.ROUNDING_BUDGET).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from runtime.windows import per_output

from . import stress
from .config import TrainConfig
from .data import Split
from .model import build_model
from .snap import hold_on_grid, release, rounding_moves, too_sensitive

SEQUENCE_WINDOWS = 4  # a tuning sequence is this many windows long; the first is warm-up
MAX_SEQUENCES = 1000  # sequences per epoch, evenly spaced over the training stream
LEARNING_RATE = 3e-4  # 1e-3 undid the sine's 2.6e-7 in one epoch; 1e-4 was slow on real series


def stream_forecasts(seq: keras.Model, stream: np.ndarray) -> np.ndarray:
    """Forecasts of a sequence model after every sample of `stream`, from a zero state: (n,),
    or (n, H) for a model of H samples ahead."""
    return per_output(seq.predict(stream[None, :, None], verbose=0)[0])


def validation_start(train_series: np.ndarray, cfg: TrainConfig) -> int:
    """Where the validation part of the training stream starts (the fit part lies before)."""
    return len(train_series) - int((len(train_series) - cfg.window) * cfg.validation_split)


def stressed_validation(train_series: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    """The stress set (stress.py) cut from the validation part of the training stream: one
    stretched, scaled window per validation target, as the gate's from the test part."""
    ends = np.arange(validation_start(train_series, cfg), len(train_series))
    return stress.stretched_windows(train_series, ends, cfg.window)


def touchy(seq: keras.Model, stressed: np.ndarray) -> dict | None:
    """How far the files' rounding of the weights moves a sequence model's forecasts after each
    stressed window (from a zero state, as the gate runs step files), when past the budget."""
    moves = rounding_moves(seq, lambda: seq.predict(stressed, verbose=0)[:, -1])
    return moves if too_sensitive(moves) else None


def validation_forecasts(seq: keras.Model, sp: Split, cfg: TrainConfig) -> np.ndarray:
    """The sequence model's forecasts of the validation part, streaming the training part:
    those due after inputs validation_start - 1 on (sp.train_outputs from there are their
    targets)."""
    n = len(sp.train_outputs)
    return stream_forecasts(seq, sp.train_series[:n])[validation_start(sp.train_series, cfg) - 1 :]


def tune_for_streaming(
    model: keras.Model,
    sp: Split,
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
    train_series, due = sp.train_series, sp.train_outputs
    val_start = validation_start(train_series, cfg)
    targets = due[val_start - 1 :]

    def val_mse() -> float:  # stream the whole training part, score its validation tail
        return float(np.mean((validation_forecasts(seq, sp, cfg) - targets) ** 2))

    fit = train_series[:val_start]
    length = min(SEQUENCE_WINDOWS * cfg.window, len(fit) - cfg.horizon)
    last = len(fit) - length - cfg.horizon  # the last start whose outputs are due within fit
    starts = np.unique(np.linspace(0, last, MAX_SEQUENCES).astype(int))
    x = np.stack([fit[s : s + length] for s in starts])[..., None]
    y = np.stack([due[s : s + length] for s in starts]).reshape(len(starts), length, -1)
    weight = np.zeros((len(x), length), np.float32)
    weight[:, min(cfg.window, length - 1) :] = 1  # warm-up: the first window is not scored

    stressed = stressed_validation(train_series, cfg)
    seq.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    before = best = val_mse()
    say(
        f"stream tuning for the step files: validation stream MSE {before:.3e} before (model units)"
    )
    best_weights, best_epoch, refused = None, 0, 0
    for epoch in range(1, cfg.stream_epochs + 1):
        seq.fit(x, y, sample_weight=weight, batch_size=cfg.batch_size, epochs=1, verbose=0)
        mse = val_mse()
        line = f"stream tuning {epoch:>2}/{cfg.stream_epochs}  validation stream MSE {mse:.3e}"
        # held on the grids, the files round nothing more: no move to measure
        moves = touchy(seq, stressed) if mse < best and not on_grid else None
        if moves:
            refused += 1
            line += f"; not kept: rounding moves stressed forecasts {moves['int8']:.1e} (int8)"
            line += f" / {moves['float16']:.1e} (float16)"
        elif mse < best:
            best, best_weights, best_epoch = mse, seq.get_weights(), epoch
        say(line)
    info = {"epochs": cfg.stream_epochs, "best_epoch": best_epoch, "too_sensitive": refused}
    info |= {"val_stream_mse_before": before, "val_stream_mse_after": best}
    if best_weights is None:
        return None, info
    seq.set_weights(best_weights)
    if on_grid:
        release(seq)
    return seq, info
