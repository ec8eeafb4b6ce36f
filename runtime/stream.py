"""Streams: push one sample at a time, get the forecast of the next one and an anomaly flag."""

from __future__ import annotations

import sys

import numpy as np

from . import checks
from .anomaly import AnomalyScore
from .errors import UserError
from .forecaster import StepModel, WindowModel
from .windows import RANGE_MARGIN, SATURATE, WindowBuffer, reach

STATE_FORMAT = 3  # get_state()'s layout; a state of another is refused, not guessed at


class Stream:
    """Samples in, next-sample forecasts out, for one sensor or several sharing one model.

    push() returns None until `window` samples have arrived (one more for a change model, whose
    inputs are the steps between samples), then a forecast per push: a float for one sensor, an
    array of `sensors` floats for several (one invoke for all of them). A model of the next H
    samples (model.horizon > 1) returns H forecasts: an array (H,), or (sensors, H). The anomaly
    score is always on the forecast of the next sample. After each push,
    `residual` is the sample minus the forecast made for it, `score` how unlikely the recent
    residuals are under those seen before (0 to 1, runtime/anomaly.py), `anomaly` whether the
    score reaches the threshold (the manifest's, or the one given), and `out_of_range` whether the
    model's input lies more than RANGE_MARGIN beyond its training range. A sample that is not
    a finite number, or lies absurdly far from the training range (windows.reach), raises
    ValueError and leaves the stream as it was.
    """

    def __init__(
        self, model: WindowModel | StepModel, sensors: int = 1, threshold: float | None = None
    ) -> None:
        self.model = model
        self.sensors = sensors
        self.threshold = threshold if threshold is not None else model.anomaly_threshold
        self._center, self._scale = model.norm.center, model.norm.scale
        known = model.level_range
        self._scores = [
            AnomalyScore(period=model.anomaly_period, scale=self._scale, trained=known)
            for _ in range(sensors)
        ]
        self._lead = model.norm.lead
        self._ahead_scale = model.norm.horizon_scale  # a change model's outputs for H > 1
        self._several = model.horizon > 1  # forecasts of the next H samples
        self._step = isinstance(model, StepModel)
        self._buf = WindowBuffer(model.window, sensors)
        self._lo, self._hi = reach(*known) if known else (-sys.float_info.max, sys.float_info.max)
        self.reset()

    def push(self, sample: float | np.ndarray) -> float | np.ndarray | None:
        """Add one sample (data units); the forecast for the next sample once a window is in."""
        if self.sensors > 1:
            x = np.asarray(sample, dtype=np.float64)
            if not ((x >= self._lo) & (x <= self._hi)).all():
                raise ValueError(self._refusal(x[~((x >= self._lo) & (x <= self._hi))][0]))
        else:
            if not isinstance(sample, float):  # an int, a numpy scalar or a one-element array
                sample = float(np.asarray(sample, dtype=np.float64).reshape(()))
            x = sample  # one sensor: plain floats, cheaper than numpy scalars
            if not self._lo <= x <= self._hi:  # False for NaN too
                raise ValueError(self._refusal(x))
        self.count += 1
        if self._lead:  # a change model: its input is the step from the previous sample
            previous, self._previous = self._previous, x
            if previous is None:
                self._residual(x)
                self.out_of_range = False if self.sensors == 1 else np.zeros(self.sensors, bool)
                return None
            z = (x - previous - self._center) / self._scale
        else:
            z = (x - self._center) / self._scale
        self.out_of_range = (abs(z) if self.sensors == 1 else np.abs(z)) > 1 + RANGE_MARGIN
        # far past the range either way; clamped so float32 holds it (1e308 would overflow)
        z = min(max(z, -SATURATE), SATURATE) if self.sensors == 1 else z.clip(-SATURATE, SATURATE)
        if self._step:
            y, self._state = self.model.step_model_units(z, self._state)
        else:
            self._buf.push(z)
            # (window, sensors) -> (sensors, window, 1): a strided view, copied once into the model
            y = (
                self.model.predict_model_units(self._buf.view().T[..., None])
                if self._buf.full
                else None
            )
        self._residual(x)
        if self.count < self.model.window + self._lead:
            self._last = self._ahead = None
            return None
        if self._several:
            return self._forecasts(x, y)
        base = self._center + (x if self._lead else 0.0)  # a change model adds its step
        if self.sensors == 1:
            self._last = float(y[0]) * self._scale + base
        else:
            self._last = y * self._scale + base
        self._ahead = self._last
        return self._last

    def _forecasts(self, x: float | np.ndarray, y: np.ndarray) -> np.ndarray:
        """H > 1: the model's outputs (sensors, H) -> forecasts (data units), (H,) for one sensor;
        the next sample's kept for its residual."""
        if self._ahead_scale is None:  # levels
            ahead = y * self._scale + self._center
        else:  # changes from this sample
            ahead = y * self._ahead_scale + np.reshape(x, (-1, 1))
        if self.sensors == 1:
            ahead = ahead[0]
            self._last = float(ahead[0])
        else:
            self._last = ahead[:, 0].copy()
        self._ahead = ahead
        return ahead

    def _refusal(self, x: float) -> str:
        if not np.isfinite(x):
            return f"{x} is not a finite number"
        return (
            f"{x:.6g} is absurdly far from the model's training range (beyond "
            f"[{self._lo:.3g}, {self._hi:.3g}]): a fault, not a reading"
        )

    @property
    def forecast(self) -> float | np.ndarray | None:
        """The forecast made for the next sample, or the next H (None until a window is in)."""
        return self._ahead

    def _residual(self, x: float | np.ndarray) -> None:
        """The forecast made for x, the residual against it, and x's anomaly score and flag."""
        self.prediction = self._last
        self.residual = None if self._last is None else x - self._last
        if self.sensors == 1:
            size = None if self._last is None else abs(self.residual) / self._scale
            self.score = self._scores[0].push(x, size)
            self.anomaly = self.score is not None and self.score >= self.threshold
            return
        values = x.tolist()
        if self._last is None:
            for score, value in zip(self._scores, values, strict=True):
                score.push(value, None)
            self.score, self.anomaly = None, np.zeros(self.sensors, bool)
            return
        sizes = (np.abs(self.residual) / self._scale).tolist()
        self.score = np.array(
            [s.push(v, z) for s, v, z in zip(self._scores, values, sizes, strict=True)]
        )
        self.anomaly = self.score >= self.threshold

    def reset(self) -> None:
        """Start over: forget the window (or the recurrent state) and the last forecast."""
        self.count = 0
        self._buf.reset()
        self._state = self.model.zero_state(self.sensors) if self._step else None
        self._last: np.ndarray | None = None
        self._ahead: float | np.ndarray | None = None  # what push returned last
        self._previous: float | np.ndarray | None = None  # the last sample, for a change model
        self.prediction: float | np.ndarray | None = None  # the forecast made for the last sample
        self.residual: float | np.ndarray | None = None
        self.score: float | np.ndarray | None = None
        for score in self._scores:
            score.reset()
        self.out_of_range: bool | np.ndarray = False
        self.anomaly: bool | np.ndarray = False

    def get_state(self) -> dict:
        """Everything needed to resume after a restart, as plain JSON data (no NaN)."""
        if self._step:
            memory = [s.tolist() for s in self.model.state_model_units(self._state)]
        else:  # the samples in the window (model units), oldest first
            memory = self._buf.view()[self.model.window - min(self.count, self.model.window) :]
            memory = memory.tolist()
        return {
            "format": STATE_FORMAT,
            "mode": self.model.mode,
            "file_sha256": self.model.entry.info["sha256"],
            "sensors": self.sensors,
            "count": self.count,
            "memory": memory,
            "last": None if self._last is None else np.atleast_1d(self._last).tolist(),
            "previous": None if self._previous is None else np.atleast_1d(self._previous).tolist(),
            "score": [s.get_state() for s in self._scores],
        }

    def set_state(self, state: dict) -> None:
        """Resume from get_state() of a stream on the same model file and sensor count. A state
        of another model, sensor count or format is a UserError; a value of the wrong type or
        range a ValueError naming it; either way the stream is left as it was."""
        keys = ("file_sha256", "sensors", "count", "memory", "last", "score")
        if not isinstance(state, dict) or (
            state.get("format"),
            state.get("file_sha256"),
            state.get("sensors"),
        ) != (
            STATE_FORMAT,
            self.model.entry.info["sha256"],
            self.sensors,
        ):
            raise UserError(
                "this state was saved by a stream on another model file, sensor count or "
                "runtime version: start over with reset()"
            )
        checks.mapping(state, "the stream state", keys)
        count = checks.integer(state["count"], "count")
        memory = self._checked_memory(state["memory"], count)
        last, previous = state["last"], state.get("previous")
        last = None if last is None else checks.numbers(last, "last", self.sensors)
        previous = None if previous is None else checks.numbers(previous, "previous", self.sensors)
        saved = state["score"]
        if not isinstance(saved, list) or len(saved) != self.sensors:
            raise ValueError(f"score holds no state for each of the {self.sensors} sensors")
        scores = [AnomalyScore(s.p, s.period, s.scale, s.trained) for s in self._scores]
        for i, (score, part) in enumerate(zip(scores, saved, strict=True)):
            score.set_state(part, f"score[{i}]")
        self.reset()  # every value checked: now it can be taken
        if self._step:
            self._state = self.model.state_from_model_units(memory)
        else:
            for row in memory:
                self._buf.push(np.array(row))
        self.count, self._scores = count, scores
        one = self.sensors == 1
        self._last = None if last is None else last[0] if one else np.array(last)
        self._ahead = None if self._several else self._last
        if previous is not None:
            self._previous = previous[0] if one else np.array(previous)

    def _checked_memory(self, memory: object, count: int) -> list:
        """The saved window (rows of model units) or recurrent state (one list per part)."""
        if self._step:
            if not isinstance(memory, list) or len(memory) != len(self.model.state_sizes):
                raise ValueError(f"memory does not hold the {len(self.model.state_sizes)} parts")
            parts = zip(memory, self.model.state_sizes, strict=True)
            return [
                checks.rows(part, f"memory[{i}]", self.sensors, size)
                for i, (part, size) in enumerate(parts)
            ]
        rows = checks.rows(memory, "memory", min(count, self.model.window), self.sensors)
        if any(abs(v) > SATURATE for row in rows for v in row):
            raise ValueError(f"memory holds a value beyond +-{SATURATE:g}, which no stream keeps")
        return rows
