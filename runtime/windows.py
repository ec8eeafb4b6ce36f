"""Sliding windows and normalization: the one implementation training, export and runtime share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Samples this far past the training range (as a fraction of its half-width) are flagged: the model
# never saw them, and int8 inputs saturate just past the range's ends.
RANGE_MARGIN = 0.1
SATURATE = 1e6  # model units: a stream clamps its inputs to +-this (float32 cannot hold 1e308)
# A sample this many half-widths from the training range is refused, not forecast: a unit or wire
# fault, not a reading (and its square would overflow a float).
REACH = SATURATE


TARGETS = ("level", "change")  # the model forecasts the next sample, or its step from the last


@dataclass(frozen=True)
class Normalization:
    """How samples become the model's inputs and its outputs become forecasts.

    The model sees a series in model units: the samples themselves (target "level") or the step
    from each sample to the next ("change"), min-max scaled so the training range maps to [-1, 1].
    A fixed model range suits tanh cells and int8 quantization; the seed's sine is left unchanged.
    A change model forecasts the next step and adds it to the last sample, so it can follow a
    series that leaves the range its levels were trained on.

    A model of the next H samples (H > 1) gives H outputs: a level model each sample in model
    units; a change model each sample's change from the last one, over `horizon_scale` (the
    largest change over H samples in training), so that its outputs too lie in [-1, 1].
    """

    center: float
    scale: float
    target: str = "level"
    horizon_scale: float | None = None  # a change model of H > 1 samples: its outputs' unit

    @classmethod
    def fit(cls, series: np.ndarray, target: str = "level") -> Normalization:
        """Fit on a 1-D model series (see model_series); a constant series keeps unit scale."""
        lo, hi = float(np.min(series)), float(np.max(series))
        return cls(center=(hi + lo) / 2, scale=(hi - lo) / 2 if hi > lo else 1.0, target=target)

    @classmethod
    def from_dict(cls, d: dict) -> Normalization:
        """Read the `normalization` entry of model.json or manifest.json."""
        hs = d.get("horizon_scale")
        return cls(
            float(d["center"]),
            float(d["scale"]),
            d.get("target", "level"),
            None if hs is None else float(hs),
        )

    def to_dict(self) -> dict:
        """The form stored in model.json and manifest.json: model = (series - center) / scale."""
        d = {"kind": "minmax", "center": self.center, "scale": self.scale, "target": self.target}
        return d | ({} if self.horizon_scale is None else {"horizon_scale": self.horizon_scale})

    @property
    def lead(self) -> int:
        """Samples in before the model's first input: one for a change model (a step needs two)."""
        return 1 if self.target == "change" else 0

    @staticmethod
    def model_series(values: np.ndarray, target: str) -> np.ndarray:
        """Samples (data units, along the last axis) -> the series the model sees, in data units."""
        values = np.asarray(values, dtype=np.float64)
        return np.diff(values, axis=-1) if target == "change" else values

    def inputs(self, values: np.ndarray) -> np.ndarray:
        """Samples (data units) -> the model's inputs (model units), lead samples fewer."""
        return self.apply(self.model_series(values, self.target))

    def forecast(self, y: np.ndarray | float, last: np.ndarray | float) -> np.ndarray:
        """The model's output (model units) and the last sample (data units) -> the forecast of
        the next sample (data units); outputs (..., H) and last (...) -> (..., H) for H > 1."""
        last = np.asarray(last, dtype=np.float64)
        if self.lead and np.ndim(y) > last.ndim:
            last = last[..., None]
        return self.decode(y) + (last if self.lead else 0.0)

    @property
    def output_scale(self) -> float:
        """Data units per model unit of the model's outputs."""
        return self.scale if self.horizon_scale is None else self.horizon_scale

    def decode(self, y: np.ndarray | float) -> np.ndarray:
        """The model's outputs (model units) -> data units: the samples ahead, or for a change
        model their changes (from the last sample's predecessor for H = 1, else from it)."""
        if self.horizon_scale is None:
            return self.invert(y)
        return np.asarray(y, dtype=np.float64) * self.horizon_scale

    def apply(self, x: np.ndarray | float) -> np.ndarray:
        """Model series, data units -> model units."""
        return (np.asarray(x, dtype=np.float64) - self.center) / self.scale

    def invert(self, y: np.ndarray | float) -> np.ndarray:
        """Model units -> model series, data units."""
        return np.asarray(y, dtype=np.float64) * self.scale + self.center

    def level_range(self) -> tuple[float, float] | None:
        """The samples' training range, data units: a level model's own; None for a change
        model (its range is of the steps)."""
        return None if self.lead else (self.center - self.scale, self.center + self.scale)

    def out_of_range(self, x: np.ndarray | float) -> np.ndarray:
        """True where a model-series value (data units: a sample, or a change model's step) lies
        beyond the training range by more than RANGE_MARGIN of its half-width."""
        return np.abs(self.apply(x)) > 1.0 + RANGE_MARGIN


def reach(lo: float, hi: float) -> tuple[float, float]:
    """The samples a stream takes, given the range [lo, hi] its model was trained on: those
    within REACH half-widths of it (a constant range counts as a half-width of 1)."""
    mid, half = (lo + hi) / 2, (hi - lo) / 2 if hi > lo else 1.0
    return mid - REACH * half, mid + REACH * half


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of `window` samples, shape (n, window, 1), and the sample after each, (n,)."""
    series = np.asarray(series, dtype=np.float32)
    if len(series) <= window:
        raise ValueError(f"need more than {window} samples to make one window, got {len(series)}")
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    return np.ascontiguousarray(x[..., None]), series[window:].copy()


def per_output(y: np.ndarray) -> np.ndarray:
    """A model's outputs for n inputs, (n, H) or (n, ..., 1) -> (n,) for H = 1, (n, H) beyond:
    one number per forecast when the model forecasts one sample, as it always has."""
    y = np.asarray(y)
    y = y.reshape(len(y), -1)
    return y[:, 0] if y.shape[1] == 1 else y


def largest_change(values: np.ndarray, horizon: int) -> float:
    """The largest |x[t + h] - x[t]| for h = 1..horizon: a change model's horizon_scale (1 for a
    constant series)."""
    values = np.asarray(values, dtype=np.float64)
    most = max(float(np.abs(values[h:] - values[:-h]).max()) for h in range(1, horizon + 1))
    return most if most > 0 else 1.0


def outputs(norm: Normalization, values: np.ndarray, horizon: int) -> np.ndarray:
    """What the model should output after each of its inputs, model units, float32: row t is
    the output after input t (of norm.inputs(values)), for every t whose horizon is in; shape
    (n,) for horizon 1 (the next input), (n, horizon) beyond."""
    z = norm.apply(norm.model_series(values, norm.target)).astype(np.float32)
    if horizon == 1:
        return z[1:].copy()
    if norm.horizon_scale is None:  # a level model: the next samples
        return np.lib.stride_tricks.sliding_window_view(z[1:], horizon).copy()
    values = np.asarray(values, dtype=np.float64)
    ahead = np.lib.stride_tricks.sliding_window_view(values[norm.lead + 1 :], horizon)
    return ((ahead - values[norm.lead : len(values) - horizon, None]) / norm.horizon_scale).astype(
        np.float32
    )


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
