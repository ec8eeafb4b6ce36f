"""Latency of an exported file at export time (the parity check itself is runtime/parity.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


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
