"""The parity gate: every exported file against the Keras model on the same test windows."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from runtime.forecaster import Forecaster


@dataclass(frozen=True)
class Parity:
    """Deviation of one file's outputs from Keras's, in normalized model units."""

    max_abs: float
    rms: float
    tolerance: float
    passed: bool

    def to_dict(self) -> dict:
        """The manifest/report form."""
        return asdict(self)


def compare(pred: np.ndarray, reference: np.ndarray, tolerance: float) -> Parity:
    """Max and RMS deviation of pred from reference, and whether the max is within tolerance."""
    dev = np.abs(np.asarray(pred, np.float64) - np.asarray(reference, np.float64))
    max_abs = float(dev.max()) if dev.size else 0.0
    return Parity(max_abs, float(np.sqrt(np.mean(dev**2))), tolerance, max_abs <= tolerance)


def latency_us(forecaster: Forecaster, x: np.ndarray, repeats: int = 200) -> float:
    """Median microseconds to forecast one window (batch 1) on the file's own interpreter."""
    times = []
    for i in range(min(repeats, len(x)) or 1):
        t0 = time.perf_counter()
        forecaster.predict_model_units(x[i % len(x) : i % len(x) + 1])
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e6)
