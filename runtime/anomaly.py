"""The anomaly score: how unlikely the recent residuals are under those the stream has seen.

Per sample, online and O(1), in [0, 1]:
- the residual's size in model units (|sample - forecast| / scale, at least `floor`), its short
  running mean, and a long running mean and variance of that short mean; the Gaussian tail
  probability of the short mean under the long statistics, log-scaled as NAB's anomaly
  likelihood is: 0 for the usual, 0.5 for a tail of 10**-(log_range / 2), 1 for 10**-log_range;
- for a series with a period longer than the model's window (found by seasonal_period() on the
  training samples, exported in the manifest), the same tail of the sample's distance from a
  running profile of the period (what the series did at this phase, mean of past periods), and
  the higher of the two tails: the forecaster cannot see a day it was not shown;
- a sample beyond the range of every sample before it (and of those training saw, exported in
  the manifest) by more than `novelty` of that range scores 1 (a level the sensor never reached);
- each alarm (a score of `quiet_from` or more) lowers the tail scores that follow by `fatigue`
  (asks for a tail `10**(fatigue * log_range)` times smaller), fading over `fatigue_memory`
  samples: a series that keeps surprising its model alarms less often, a new extreme still scores 1;
- the other way, the longer a stream goes without an alarm the more its tail scores are raised,
  by up to `thirst`, approached over `thirst_memory` samples and reset by an alarm: a quiet
  stream's first surprise in a long while needs a smaller tail than a noisy stream's next one;
- after an alarm, the next `quiet` samples score 0: one event, one alarm (a fault that lasts
  raises it again once the quiet period ends).
A sample is an anomaly when its score reaches the threshold (the manifest's, THRESHOLD by
default: the best threshold on NAB's standard profile). The same arithmetic, in float, is the
C files' ef_push (export/c.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from . import checks

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
    quiet: int = 30  # samples that score 0 after a high score
    quiet_from: float = THRESHOLD  # the score that starts a quiet period (an alarm)
    fatigue: float = 0.05  # lowers the tail scores after each alarm by this (0: off)
    fatigue_memory: float = 5000.0  # samples over which an alarm's fatigue fades (1/e)
    thirst: float = 0.03  # raises the tail scores by up to this after a long time without alarm
    thirst_memory: float = 1000.0  # samples over which thirst grows back after an alarm (1/e)
    season_rate: float = 0.15  # how far the seasonal profile moves towards each new period

    def to_dict(self) -> dict:
        """The form stored in the manifest and report."""
        return asdict(self)


SEASON_CORRELATION = 0.7  # the autocorrelation a lag needs on the training samples to be a period
SEASON_DIP = 0.2  # ... after falling this far below it at a shorter lag (not mere smoothness)
SEASON_MULTIPLE = 0.05  # a peak this close to the highest is the period (not its multiple)


def seasonal_period(values: np.ndarray, window: int) -> int:
    """The series' period in samples if longer than `window` (shorter ones the model sees),
    else 0."""
    if len(values) < 3 * (window + 1):
        return 0
    period = cycle(values)
    return period if period > window else 0


def cycle(values: np.ndarray) -> int:
    """The series' period in samples (0: none): the shortest lag (at most half the samples)
    whose autocorrelation peaks at least SEASON_CORRELATION, after a dip, and within
    SEASON_MULTIPLE of the highest such peak."""
    x = np.asarray(values, np.float64)
    if len(x) < 8:
        return 0
    lags = np.arange(1, len(x) // 2 + 1)
    acf = _autocorrelation(x, lags)
    lowest = np.minimum.accumulate(acf)
    peaks = [
        (acf[i], int(lags[i]))
        for i in range(1, len(lags) - 1)
        if acf[i] >= max(acf[i - 1], acf[i + 1], SEASON_CORRELATION)
        and lowest[i - 1] < acf[i] - SEASON_DIP
    ]
    if not peaks:
        return 0
    highest = max(c for c, _ in peaks)
    return min(lag for c, lag in peaks if c >= highest - SEASON_MULTIPLE)


def _autocorrelation(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Per lag, the Pearson correlation of x[:-lag] with x[lag:] (0 where either is constant):
    the products' sums from one FFT, each part's sums from cumulative sums, O(n log n)."""
    n = len(x)
    x = x - x.mean()  # the correlation is the same; the sums stay small
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size)
    products = np.fft.irfft(f * np.conj(f), size)[lags]  # sum of x[i] * x[i + lag]
    c1, c2 = np.concatenate([[0.0], np.cumsum(x)]), np.concatenate([[0.0], np.cumsum(x * x)])
    m = n - lags  # the pairs at each lag
    sa, sb = c1[m], c1[n] - c1[lags]  # sums of x[:-lag] and of x[lag:]
    qa, qb = c2[m], c2[n] - c2[lags]
    cov = products - sa * sb / m
    va, vb = qa - sa * sa / m, qb - sb * sb / m
    ok = (va > 1e-12 * qa.clip(1e-300)) & (vb > 1e-12 * qb.clip(1e-300))
    return np.where(ok, cov / np.sqrt(np.where(ok, va * vb, 1.0)), 0.0)


def _likelihood(z: float, log_range: float) -> float:
    """A z-score -> the log-scaled Gaussian tail: 0 for the usual, 1 for a tail of 10**-log_range
    (and beyond). Rising with z, so the higher of two tails is the tail of the higher z."""
    tail = 0.5 * math.erfc(z / math.sqrt(2.0))
    return min(1.0, -math.log10(tail + 10.0**-log_range) / log_range)


class _Tail:
    """How surprising a size is: the z-score of its short running mean under the long running
    mean and variance of that mean (-inf for the first `warmup` sizes)."""

    def __init__(self, p: ScoreParams) -> None:
        self.p = p
        self.count, self.short, self.mean, self.var = 0, 0.0, 0.0, 0.0

    def push(self, size: float) -> float:
        p = self.p
        size = max(size, p.floor)
        self.count += 1
        if self.count == 1:
            self.short = self.mean = size
        self.short += (size - self.short) / p.short
        z = (self.short - self.mean) / math.sqrt(max(self.var, p.floor * p.floor))
        a = 1.0 / min(self.count, p.long)
        d = self.short - self.mean
        self.mean += a * d
        self.var = (1.0 - a) * (self.var + a * d * d)
        return z if self.count > p.warmup else -math.inf

    def get_state(self) -> list[float]:
        return [self.count, self.short, self.mean, self.var]

    def set_state(self, state: list, what: str) -> None:
        self.count = checks.integer(state[0], f"{what} count")
        self.short, self.mean = (checks.number(v, what) for v in state[1:3])
        self.var = checks.number(state[3], f"{what} variance", lo=0.0)


class AnomalyScore:
    """The running score of one sensor (ef_push's `score` in the C files): `period` is the
    manifest's seasonal period (0: none), `scale` the model's, for the seasonal distances;
    `trained` the samples' range in training (the manifest's): the range a new score starts
    from, so that a sample within it is no novelty (None: the range starts at the first)."""

    def __init__(
        self,
        params: ScoreParams | None = None,
        period: int = 0,
        scale: float = 1.0,
        trained: tuple[float, float] | None = None,
    ):
        self.p = params or ScoreParams()
        self.period, self.scale, self.trained = period, scale, trained
        self.reset()

    def reset(self) -> None:
        """Forget every sample (not the training range)."""
        self.hold = self.seen = 0
        self.alarms = self.thirst = 0.0
        # the range of the samples seen (NaN: none yet)
        self.lo, self.hi = self.trained if self.trained else (math.nan, math.nan)
        self.residual, self.season = _Tail(self.p), _Tail(self.p)
        self.profile = [0.0] * self.period  # per phase of the period: the samples' running mean

    def push(self, value: float, size: float | None) -> float | None:
        """One sample (data units) and its residual's size (|residual| in model units; None
        before the first forecast) -> the sample's score (None without a residual)."""
        score = None if size is None else self._score(value, size)
        if not value >= self.lo:  # NaN at first: the comparison is False
            self.lo = value
        if not value <= self.hi:
            self.hi = value
        if self.period:
            phase = self.seen % self.period
            before = self.profile[phase]
            rate = 1.0 if self.seen < self.period else self.p.season_rate
            self.profile[phase] = before + rate * (value - before)
        self.seen += 1
        return score

    def _score(self, value: float, size: float) -> float:
        p = self.p
        z = self.residual.push(size)
        if self.period and self.seen >= self.period:
            distance = abs(value - self.profile[self.seen % self.period]) / self.scale
            z = max(z, self.season.push(distance))
        score = _likelihood(z, p.log_range)  # 0 while both warm up (z = -inf)
        self.alarms *= 1.0 - 1.0 / p.fatigue_memory
        if score < 1.0:
            score = max(0.0, min(1.0, score - p.fatigue * self.alarms + p.thirst * self.thirst))
        margin = p.novelty * (self.hi - self.lo)
        if p.novelty >= 0 and (value > self.hi + margin or value < self.lo - margin):
            score = 1.0
        if self.residual.count <= p.warmup:
            return 0.0
        if self.hold > 0:
            self.hold -= 1
            return 0.0
        self.thirst += (1.0 - self.thirst) / p.thirst_memory
        if score >= p.quiet_from:
            self.hold = p.quiet
            self.alarms += 1.0
            self.thirst = 0.0
        return score

    def get_state(self) -> list[float | None]:
        """The running values, as plain JSON data (None for a range not seen yet)."""
        lo, hi = (None if math.isnan(v) else v for v in (self.lo, self.hi))
        return [
            self.hold,
            self.seen,
            self.alarms,
            self.thirst,
            lo,
            hi,
            *self.residual.get_state(),
            *self.season.get_state(),
            *self.profile,
        ]

    def set_state(self, state: list, what: str = "the score state") -> None:
        """Resume from get_state() of a score with the same period: every value checked
        first (ValueError naming the bad one; the score is left as it was)."""
        if not isinstance(state, list) or len(state) != 14 + self.period:
            raise ValueError(
                f"{what} does not hold the {14 + self.period} values of this runtime's score"
            )
        hold = checks.integer(state[0], f"{what} hold", hi=self.p.quiet)
        seen = checks.integer(state[1], f"{what} seen")
        alarms = checks.number(state[2], f"{what} alarms", lo=0.0)
        thirst = checks.number(state[3], f"{what} thirst", lo=0.0, hi=1.0)
        lo, hi = (checks.optional_number(v, f"{what} range") for v in state[4:6])
        if (lo is None) != (hi is None) or (lo is not None and lo > hi):
            raise ValueError(f"{what} range is [{lo}, {hi}], not a range")
        residual, season = _Tail(self.p), _Tail(self.p)
        residual.set_state(state[6:10], f"{what} residual")
        season.set_state(state[10:14], f"{what} season")
        profile = checks.numbers(state[14:], f"{what} profile")
        self.hold, self.seen, self.alarms, self.thirst = hold, seen, alarms, thirst
        self.lo, self.hi = (math.nan, math.nan) if lo is None else (lo, hi)
        self.residual, self.season, self.profile = residual, season, profile
