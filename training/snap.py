"""Train a sensitive model onto the grids its compact files store the weights on.

TFLite's dynamic-range files store every weight tensor of 1,024 elements or more (the recurrent
kernels) as int8 with one scale per tensor, max |w| / 127, and its float16 files store every
weight as a float16. Most models do not notice. Some do: rounding the hourly-temperature change
model's recurrent kernel to int8 moved its forecasts 1.8e-2 (normalized units), past the dynamic
files' bound of 1e-2. For such a model training does what quantization-aware training does: it
puts the large weights on an int8 grid the converter finds again (so the converter's rounding
changes nothing), trains the other weights a few epochs around them, and rounds those to float16.
A dynamic-range file then differs from Keras only by the rounding of its activations, a float16
file not at all, and what the rounding costs shows where it belongs: in the model's test MSE.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

INT8_MIN_ELEMENTS = 1024  # TFLite's dynamic-range quantization leaves smaller weights in float
# How far (normalized units) each rounding may move validation forecasts before training puts
# the model on the grids: half the bound of the files that round so (dynamic-range int8 1e-2,
# float16 1e-3 in export/variants.py; tests/training/test_snap.py checks they stay half).
ROUNDING_BUDGET = {"int8": 5e-3, "float16": 5e-4}
STEP_BITS = 4  # significant bits of the int8 step: 7-bit multiples of it are exact float16s
GRID_EPOCHS = 5  # epochs training the other weights while the large ones stay on the grid


def int8_grid(w: np.ndarray) -> np.ndarray:
    """w as multiples (at most 127) of one step, the largest exactly 127 steps, so the converter's
    step (max |w| / 127) is this one; the step has STEP_BITS significant bits, so every grid
    point is also a float16."""
    top = float(np.abs(w).max())
    if top == 0:
        return w
    mantissa, exponent = np.frexp(top / 127)  # top / 127 = mantissa * 2**exponent, 0.5 <= m < 1
    step = np.ldexp(np.round(mantissa * 2**STEP_BITS), exponent - STEP_BITS)
    k = np.clip(np.round(w / step), -127, 127)
    largest = np.unravel_index(np.argmax(np.abs(w)), w.shape)
    k[largest] = 127 * np.sign(w[largest])
    return (k * step).astype(np.float32)


def float16_grid(w: np.ndarray) -> np.ndarray:
    """w rounded to the nearest float16, kept as float32."""
    return w.astype(np.float16).astype(np.float32)


def large(model: keras.Model) -> list:
    """The weights a dynamic-range file stores as int8."""
    return [v for v in model.weights if int(np.prod(v.shape)) >= INT8_MIN_ELEMENTS]


def rounding_moves(model: keras.Model, forecasts: Callable[[], np.ndarray]) -> dict:
    """How far the files' rounding of the weights (int8 large ones; float16 all) moves the
    forecasts on validation inputs (`forecasts()`), in normalized units; weights left as found."""
    weights, big = model.get_weights(), {id(v) for v in large(model)}
    before = forecasts()

    def moved(rounding: Callable[[np.ndarray, bool], np.ndarray]) -> float:
        model.set_weights(
            [rounding(w, id(v) in big) for v, w in zip(model.weights, weights, strict=True)]
        )
        return float(np.abs(forecasts() - before).max())

    moves = {
        "int8": moved(lambda w, is_big: int8_grid(w) if is_big else w),
        "float16": moved(lambda w, is_big: float16_grid(w)),
    }
    model.set_weights(weights)
    return moves


def too_sensitive(moves: dict) -> bool:
    """Whether a rounding moves forecasts past its budget."""
    return any(moves[k] > budget for k, budget in ROUNDING_BUDGET.items())


def hold_on_grid(model: keras.Model) -> None:
    """Round the large weights onto the int8 grid and hold them there while the rest trains."""
    for v in large(model):
        fixed = int8_grid(v.numpy())
        v.assign(fixed)
        v.constraint = lambda _, fixed=fixed: keras.ops.convert_to_tensor(fixed)


def release(model: keras.Model) -> None:
    """Stop holding the large weights and round the others to float16."""
    big = {id(v) for v in large(model)}
    for v in model.weights:
        v.constraint = None
        if id(v) not in big:
            v.assign(float16_grid(v.numpy()))


def train_on_grid(
    model: keras.Model,
    fit: Callable[[], None],
    val_mse: Callable[[], float],
    epochs: int,
    say: Callable[[str], None],
) -> dict:
    """Round the large weights onto the int8 grid, train the others `epochs` times (`fit()`, one
    epoch), keep the epoch with the lowest `val_mse()` (0: none), round the rest to float16."""
    trained = val_mse()
    hold_on_grid(model)
    best, best_epoch, best_weights = val_mse(), 0, model.get_weights()
    say(f"on the int8 grid: validation MSE {trained:.3e} as trained, {best:.3e} rounded")
    for epoch in range(1, epochs + 1):
        fit()
        mse = val_mse()
        say(f"on the int8 grid {epoch:>2}/{epochs}  validation MSE {mse:.3e}")
        if mse < best:
            best, best_epoch, best_weights = mse, epoch, model.get_weights()
    model.set_weights(best_weights)
    release(model)
    return {"val_mse_trained": trained, "val_mse_rounded": val_mse(), "best_epoch": best_epoch}
