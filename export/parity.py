"""The parity gate: every exported file against the Keras model on the same inputs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

DRIFT_FRACTION = 0.1  # the first and last 10% of a stream, to show whether deviation grows


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


def drift(pred: np.ndarray, reference: np.ndarray) -> dict:
    """Max deviation over the start and the end of a stream: equal orders mean no drift."""
    dev = np.abs(np.asarray(pred, np.float64) - reference)
    n = max(1, int(len(dev) * DRIFT_FRACTION))
    return {
        "start_max_abs": float(dev[:n].max()),
        "end_max_abs": float(dev[-n:].max()),
        "samples": len(dev),
    }


def latency_us(call: Callable[[int], object], repeats: int = 300) -> float:
    """Median microseconds of call(i) over `repeats` calls (after a few warm-up calls)."""
    for i in range(5):
        call(i)
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        call(i % 50)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e6)
