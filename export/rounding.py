"""Weight matrices to int8 with one scale per column: rounded to nearest, or GPTQ's rounding.

GPTQ (Frantar et al., 2022) rounds a matrix row by row and moves each row's rounding error
onto the rows not yet rounded, weighted by how the inputs of those rows go together on real
data, so the error of the matrix's outputs (not of each weight) is small. On two NAB series
whose C int8 file missed its bound of 1e-2 on the stream (2.5e-2, 2.2e-2 rounded to nearest),
GPTQ's rounding of the same int8 grid gave 7.1e-3 and 6.9e-3.
"""

from __future__ import annotations

import numpy as np

DAMP = 0.01  # added to the inputs' second moments' diagonal, as a fraction of its mean


def on_int8_grid(w: np.ndarray) -> bool:
    """Whether one scale, max |w| / 127, holds every weight of w exactly: a matrix training put on
    the int8 grid (training/snap.py). A scale per column would round it again, and lose."""
    w = np.asarray(w, np.float32)
    k = w / (np.abs(w).max() / 127) if w.any() else w
    return bool(np.all(np.abs(k - np.round(k)) < 1e-3))


def scales(w: np.ndarray, per_column: bool) -> np.ndarray:
    """max |w| / 127 per column (or for the whole matrix), 1 where a column is all zero."""
    top = np.abs(w).max(axis=0 if per_column else None, keepdims=True).reshape(-1) / 127
    return np.where(top > 0, top, 1).astype(np.float32)


def nearest(w: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """w / scale rounded to the nearest int8."""
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8)


def gptq(w: np.ndarray, scale: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """w (rows, columns) on the same int8 grid, rounded to keep inputs @ w close: inputs are
    (samples, rows) of what the matrix multiplies in real use."""
    rounded = _gptq(w, inputs, lambda row: nearest(row, scale) * scale)
    return np.rint(rounded / scale).astype(np.int8)


def gptq_float16(w: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """w rounded to float16 values (kept as float32) the same way: each to the nearest float16
    after the errors of the rows before it are moved onto it."""
    return _gptq(w, inputs, lambda row: row.astype(np.float16)).astype(np.float32)


def _gptq(w: np.ndarray, inputs: np.ndarray, round_row) -> np.ndarray:
    """GPTQ's loop with any rounding of a row (float64 in, the rounded values out)."""
    x = inputs.astype(np.float64)
    h = x.T @ x
    h += DAMP * max(float(np.mean(np.diag(h))), 1e-12) * np.eye(len(h))
    u = np.linalg.cholesky(np.linalg.inv(h)).T  # upper factor of the inverse
    rest = w.astype(np.float64)
    out = np.zeros(w.shape, np.float64)
    for i in range(w.shape[0]):
        out[i] = round_row(rest[i])
        error = (rest[i] - out[i]) / u[i, i]
        rest[i + 1 :] -= np.outer(u[i, i + 1 :], error)
    return out
