"""Seeded synthetic signals: the `sensor` training data and the runtime's `sim` input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SensorSignal:
    """A sensor-like signal: several tones, a slow drift, Gaussian noise and rare spikes."""

    periods: tuple[float, ...] = (50.0, 120.0, 17.0)
    amplitudes: tuple[float, ...] = (1.0, 0.5, 0.2)
    drift: float = 0.3  # amplitude of a very slow sinusoidal drift
    drift_period: float = 5000.0
    noise: float = 0.05
    spike_rate: float = 0.002  # probability per sample
    spike_size: float = 3.0
    offset: float = 20.0  # a sensor reads around a working point, not around zero

    @property
    def half_range(self) -> float:
        """The largest distance of the clean signal (tones and drift) from its offset."""
        return sum(self.amplitudes) + self.drift

    def clean(self, n: int, seed: int = 0, start: int = 0) -> np.ndarray:
        """Samples start .. start + n of the tones and drift, without noise or spikes."""
        phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(self.periods))
        t = np.arange(start, start + n, dtype=np.float64)
        x = np.full(n, self.offset)
        for period, amp, phase in zip(self.periods, self.amplitudes, phases, strict=True):
            x += amp * np.sin(2 * np.pi * t / period + phase)
        return x + self.drift * np.sin(2 * np.pi * t / self.drift_period)

    def spikes(self, n: int, seed: int = 0, start: int = 0) -> np.ndarray:
        """The spike component alone: 0 almost everywhere, +-spike_size where a spike falls."""
        rng = np.random.default_rng([seed, start, 1])
        where = rng.random(n) < self.spike_rate
        return where * rng.choice([-1.0, 1.0], n) * self.spike_size

    def generate(self, n: int, seed: int = 0, start: int = 0, spikes: bool = True) -> np.ndarray:
        """Samples start .. start + n; the same seed and start give the same samples."""
        noise = np.random.default_rng([seed, start, 0]).normal(0.0, self.noise, n)
        x = self.clean(n, seed, start) + noise
        return x + self.spikes(n, seed, start) if spikes else x


def sine(n: int = 1000, stop: float = 100.0) -> np.ndarray:
    """The seed's series: np.sin(np.linspace(0, 100, 1000))."""
    return np.sin(np.linspace(0, stop, n))
