"""The parity gate: every exported file against the Keras model on the same inputs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

DRIFT_FRACTION = 0.1  # the first and last 10% of a stream, to show whether deviation grows


@dataclass(frozen=True)
class Parity:
    """Deviation of one file's outputs from Keras's, in normalized model units.

    max_abs and rms cover the inputs the file is held to: every test input, or for a fixed-range
    (full int8) file those within the runtime's range margin. The stress inputs are held to the
    same bound; `outside` inputs are reported, not held.
    """

    max_abs: float
    rms: float
    tolerance: float
    passed: bool
    stress_max_abs: float
    outside: int = 0
    outside_max_abs: float | None = None

    def to_dict(self) -> dict:
        """The manifest/report form."""
        return asdict(self)


def compare(
    pred: np.ndarray,
    reference: np.ndarray,
    tolerance: float,
    held: np.ndarray | None = None,
    stress: tuple[np.ndarray, np.ndarray] | None = None,
) -> Parity:
    """Deviation of pred from reference where `held` (default everywhere), and on stress inputs."""
    dev = _dev(pred, reference)
    held = np.ones(len(dev), bool) if held is None else np.asarray(held, bool)
    inside, outside = dev[held], dev[~held]
    max_abs = float(inside.max()) if inside.size else 0.0
    stress_max = float(_dev(*stress).max()) if stress is not None else 0.0
    return Parity(
        max_abs=max_abs,
        rms=float(np.sqrt(np.mean(inside**2))) if inside.size else 0.0,
        tolerance=tolerance,
        passed=max_abs <= tolerance and stress_max <= tolerance,
        stress_max_abs=stress_max,
        outside=int(outside.size),
        outside_max_abs=float(outside.max()) if outside.size else None,
    )


def _dev(pred: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(pred, np.float64) - np.asarray(reference, np.float64))


def drift(pred: np.ndarray, reference: np.ndarray, held: np.ndarray | None = None) -> dict:
    """Max deviation over the start and the end of a stream (where held): equal orders mean no
    drift."""
    dev = np.where(np.ones(len(pred), bool) if held is None else held, _dev(pred, reference), 0)
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
