"""The anomaly score: how unlikely the recent residuals are under those the stream has seen.

Per sample, online and O(1), in [0, 1]:
- the residual's size in model units (|sample - forecast| / scale, at least `floor`), its short
  running mean, and a long running mean and variance of that short mean; the Gaussian tail
  probability of the short mean under the long statistics, log-scaled as NAB's anomaly
  likelihood is: 0 for the usual, 0.5 for a tail of 10**-(log_range / 2), 1 for 10**-log_range;
- a sample beyond the range of every sample before it by more than `novelty` of that range
  scores 1 (a level the sensor never reached);
- each alarm (a score of `quiet_from` or more) lowers the tail scores that follow by `fatigue`
  (asks for a tail `10**(fatigue * log_range)` times smaller), fading over `fatigue_memory`
  samples: a series that keeps surprising its model alarms less often, a new extreme still scores 1;
- after an alarm, the next `quiet` samples score 0: one event, one alarm (a fault that lasts
  raises it again once the quiet period ends).
A sample is an anomaly when its score reaches the threshold (the manifest's, THRESHOLD by
default: the best threshold on NAB's standard profile). The same arithmetic, in float, is the
C files' ef_push (export/c.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

THRESHOLD = 0.3  # default score from which a sample is an anomaly (NAB standard profile)


@dataclass(frozen=True)
class ScoreParams:
    """The score's constants (tuned on NAB; the C header carries them too)."""

    short: float = 7.0  # samples in the short running mean of the residual size
    long: float = 500.0  # samples of memory of the long mean and variance
    warmup: int = 50  # residuals before the first score above 0
    floor: float = 0.03  # residual size (model units) below which nothing is surprising
    log_range: float = 20.0  # a tail probability of 10**-log_range scores 1
    novelty: float = 0.005  # beyond the range seen so far by this fraction of it: 1 (<0: off)
    quiet: int = 40  # samples that score 0 after a high score
    quiet_from: float = THRESHOLD  # the score that starts a quiet period (an alarm)
    fatigue: float = 0.05  # lowers the tail scores after each alarm by this (0: off)
    fatigue_memory: float = 5000.0  # samples over which an alarm's fatigue fades (1/e)

    def to_dict(self) -> dict:
        """The form stored in the manifest and report."""
        return asdict(self)


def _tail(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


class AnomalyScore:
    """The running score of one sensor (ef_push's `score` in the C files)."""

    def __init__(self, params: ScoreParams | None = None) -> None:
        self.p = params or ScoreParams()
        self.reset()

    def reset(self) -> None:
        """Forget every sample."""
        self.count = self.hold = 0
        self.short = self.mean = self.var = self.alarms = 0.0
        self.lo = self.hi = math.nan  # the range of the samples seen

    def push(self, value: float, size: float | None) -> float | None:
        """One sample (data units) and its residual's size (|residual| in model units; None
        before the first forecast) -> the sample's score (None without a residual)."""
        score = None if size is None else self._score(value, size)
        if not value >= self.lo:  # NaN at first: the comparison is False
            self.lo = value
        if not value <= self.hi:
            self.hi = value
        return score

    def _score(self, value: float, size: float) -> float:
        p = self.p
        size = max(size, p.floor)
        self.count += 1
        if self.count == 1:
            self.short = self.mean = size
        self.short += (size - self.short) / p.short
        z = (self.short - self.mean) / math.sqrt(max(self.var, p.floor * p.floor))
        score = min(1.0, -math.log10(_tail(z) + 10.0**-p.log_range) / p.log_range)
        self.alarms *= 1.0 - 1.0 / p.fatigue_memory
        if score < 1.0:
            score = max(0.0, score - p.fatigue * self.alarms)
        a = 1.0 / min(self.count, p.long)
        d = self.short - self.mean
        self.mean += a * d
        self.var = (1.0 - a) * (self.var + a * d * d)
        margin = p.novelty * (self.hi - self.lo)
        if p.novelty >= 0 and (value > self.hi + margin or value < self.lo - margin):
            score = 1.0
        if self.count <= p.warmup:
            return 0.0
        if self.hold > 0:
            self.hold -= 1
            return 0.0
        if score >= p.quiet_from:
            self.hold = p.quiet
            self.alarms += 1.0
        return score

    def get_state(self) -> list[float]:
        """The running values, as plain JSON-serializable data."""
        return [
            self.count,
            self.hold,
            self.short,
            self.mean,
            self.var,
            self.lo,
            self.hi,
            self.alarms,
        ]

    def set_state(self, state: list[float]) -> None:
        """Resume from get_state()."""
        self.count, self.hold = int(state[0]), int(state[1])
        self.short, self.mean, self.var, self.lo, self.hi, self.alarms = map(float, state[2:])
