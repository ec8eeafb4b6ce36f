"""The forecaster's layers in numpy alone: what runs where no interpreter wheel exists.

A weights file (.npz, written by the export from the trained Keras layers) holds, per recurrent
layer i, `kernel_i`, `recurrent_i` and `bias_i` in Keras's own layout (LSTM gates i, f, c, o;
GRU gates z, r, h with reset_after biases), then `dense_kernel` and `dense_bias`. `cells` names
each layer's cell; `mode` says whether the file is a window model or a step model. The
arithmetic is float64, so the file deviates from Keras's float32 only by Keras's own rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CELLS = ("lstm", "gru")


def save_weights(path: Path, mode: str, window: int, layers: list[tuple], dense: tuple) -> None:
    """Write a weights file: layers as (cell, kernel, recurrent, bias), dense as (kernel, bias)."""
    arrays: dict[str, np.ndarray] = {
        "mode": np.array(mode),
        "window": np.array(window),
        "cells": np.array([cell for cell, *_ in layers]),
        "dense_kernel": np.asarray(dense[0], np.float32),
        "dense_bias": np.asarray(dense[1], np.float32),
    }
    for i, (_, kernel, recurrent, bias) in enumerate(layers):
        arrays |= {f"kernel_{i}": kernel, f"recurrent_{i}": recurrent, f"bias_{i}": bias}
    with path.open("wb") as f:
        np.savez(f, **arrays)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warning for large |x|


class Recurrent:
    """A weights file's layers: step a batch of states, or run whole windows."""

    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as f:
            self.mode, self.window = str(f["mode"]), int(f["window"])
            self.cells = [str(c) for c in f["cells"]]
            self.layers = [
                tuple(
                    f[f"{name}_{i}"].astype(np.float64) for name in ("kernel", "recurrent", "bias")
                )
                for i in range(len(self.cells))
            ]
            self.dense = (f["dense_kernel"].astype(np.float64), f["dense_bias"].astype(np.float64))
        if any(c not in CELLS for c in self.cells):
            raise ValueError(f"unknown cell in {path.name}: {self.cells}")
        self.units = [r.shape[0] for _, r, _ in self.layers]

    def state_names(self) -> list[str]:
        """['h0', 'c0', 'h1', ...]: an LSTM layer carries h and c, a GRU layer h."""
        names = []
        for i, cell in enumerate(self.cells):
            names += [f"h{i}", f"c{i}"] if cell == "lstm" else [f"h{i}"]
        return names

    def state_sizes(self) -> list[int]:
        """Units of each state, in state_names order."""
        sizes = []
        for cell, n in zip(self.cells, self.units, strict=True):
            sizes += [n] * (2 if cell == "lstm" else 1)
        return sizes

    def step(self, x: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list]:
        """x (batch, 1) and the states -> forecast (batch, 1) and the next states."""
        h, out, k = np.asarray(x, np.float64), [], 0
        for cell, (kernel, recurrent, bias) in zip(self.cells, self.layers, strict=True):
            n = 2 if cell == "lstm" else 1
            new = _step(cell, h @ kernel, states[k : k + n], recurrent, bias)
            out += new
            h, k = new[0], k + n
        return h @ self.dense[0] + self.dense[1], out

    def windows(self, x: np.ndarray) -> np.ndarray:
        """Windows (batch, window, 1) from a zero state -> the forecast after each, (batch, 1)."""
        seq = np.asarray(x, np.float64)
        for cell, (kernel, recurrent, bias) in zip(self.cells, self.layers, strict=True):
            inputs = seq @ kernel  # every step's input projection at once
            units = recurrent.shape[0]
            states = [np.zeros((len(seq), units)) for _ in range(2 if cell == "lstm" else 1)]
            outs = []
            for t in range(seq.shape[1]):
                states = _step(cell, inputs[:, t], states, recurrent, bias)
                outs.append(states[0])
            seq = np.stack(outs, axis=1)
        return seq[:, -1] @ self.dense[0] + self.dense[1]


def _step(
    cell: str, projected: np.ndarray, states: list[np.ndarray], recurrent: np.ndarray, bias
) -> list[np.ndarray]:
    """One step of one layer, its input already multiplied by the kernel."""
    if cell == "lstm":
        h, c = states
        i, f, g, o = np.split(projected + h @ recurrent + bias, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return [_sigmoid(o) * np.tanh(c), c]
    (h,) = states
    xz, xr, xh = np.split(projected + bias[0], 3, axis=-1)  # GRU, reset_after=True
    rz, rr, rh = np.split(h @ recurrent + bias[1], 3, axis=-1)
    z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
    return [z * h + (1 - z) * np.tanh(xh + r * rh)]
