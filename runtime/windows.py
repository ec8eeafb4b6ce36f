"""Sliding windows and normalization: the one implementation training, export and runtime share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Samples this far past the training range (as a fraction of its half-width) are flagged: the model
# never saw them, and int8 inputs saturate just past the range's ends.
RANGE_MARGIN = 0.1


@dataclass(frozen=True)
class Normalization:
    """Min-max scaling fitted on the training split: the training range maps to [-1, 1].

    A fixed model range suits tanh cells and int8 quantization; the seed's sine is left unchanged.
    """

    center: float
    scale: float

    @classmethod
    def fit(cls, series: np.ndarray) -> Normalization:
        """Fit on a 1-D series; a constant series keeps unit scale instead of dividing by zero."""
        lo, hi = float(np.min(series)), float(np.max(series))
        return cls(center=(hi + lo) / 2, scale=(hi - lo) / 2 if hi > lo else 1.0)

    @classmethod
    def from_dict(cls, d: dict) -> Normalization:
        """Read the `normalization` entry of model.json or manifest.json."""
        return cls(center=float(d["center"]), scale=float(d["scale"]))

    def to_dict(self) -> dict:
        """The form stored in model.json and manifest.json: model = (data - center) / scale."""
        return {"kind": "minmax", "center": self.center, "scale": self.scale}

    def apply(self, x: np.ndarray | float) -> np.ndarray:
        """Data units -> model units."""
        return (np.asarray(x, dtype=np.float64) - self.center) / self.scale

    def invert(self, y: np.ndarray | float) -> np.ndarray:
        """Model units -> data units."""
        return np.asarray(y, dtype=np.float64) * self.scale + self.center

    def out_of_range(self, x: np.ndarray | float) -> np.ndarray:
        """True where x lies beyond the training range by more than RANGE_MARGIN of its width."""
        return np.abs(self.apply(x)) > 1.0 + RANGE_MARGIN


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of `window` samples, shape (n, window, 1), and the sample after each, (n,)."""
    series = np.asarray(series, dtype=np.float32)
    if len(series) <= window:
        raise ValueError(f"need more than {window} samples to make one window, got {len(series)}")
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    return np.ascontiguousarray(x[..., None]), series[window:].copy()


def split_point(n_windows: int, test_fraction: float) -> int:
    """Index of the first test window in a time-ordered split."""
    return n_windows - round(n_windows * test_fraction)


class WindowBuffer:
    """The last `window` samples of a stream: O(1) per push, readable as one contiguous view.

    Each sample is written twice, at i and i + window, so buf[i + 1 : i + 1 + window] is the window
    in time order without copying or rolling the array.
    """

    def __init__(self, window: int, channels: int = 1, dtype: type = np.float32) -> None:
        self.window = window
        self._buf = np.zeros((2 * window, channels), dtype=dtype)
        self._pos = 0
        self.count = 0

    def push(self, sample: np.ndarray | float) -> None:
        """Append one sample (one value per channel)."""
        self._buf[self._pos] = sample
        self._buf[self._pos + self.window] = sample
        self._pos = (self._pos + 1) % self.window
        self.count += 1

    @property
    def full(self) -> bool:
        """True once `window` samples have been pushed."""
        return self.count >= self.window

    def view(self) -> np.ndarray:
        """The current window, oldest first, shape (window, channels); valid until the next push."""
        return self._buf[self._pos : self._pos + self.window]

    def reset(self) -> None:
        """Forget every sample."""
        self._pos = 0
        self.count = 0
