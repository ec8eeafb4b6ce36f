"""Streams: push one sample at a time and get the forecast of the next one."""

from __future__ import annotations

import numpy as np

from .forecaster import Forecaster
from .windows import WindowBuffer


class Stream:
    """Samples in, next-sample forecasts out, for one sensor or several sharing one model.

    push() returns None until a window is full, then a forecast per push: a float for one
    sensor, an array of `sensors` floats for several. One Stream per independent sensor group.
    """

    def __init__(self, forecaster: Forecaster, sensors: int = 1) -> None:
        self.forecaster = forecaster
        self.sensors = sensors
        self._center = forecaster.norm.center
        self._scale = forecaster.norm.scale
        self._buf = WindowBuffer(forecaster.window, sensors)

    def push(self, sample: float | np.ndarray) -> float | np.ndarray | None:
        """Add one sample (data units); the forecast for the next sample once a window is full."""
        self._buf.push((np.asarray(sample, dtype=np.float64) - self._center) / self._scale)
        if not self._buf.full:
            return None
        # (window, sensors) -> (sensors, window, 1): a strided view, copied once by the interpreter
        pred = self.forecaster.predict_model_units(self._buf.view().T[..., None])
        pred = pred * self._scale + self._center
        return float(pred[0]) if self.sensors == 1 else pred

    def reset(self) -> None:
        """Forget the samples seen so far: the next forecast comes after a full window again."""
        self._buf.reset()
