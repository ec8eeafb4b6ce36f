"""Stress inputs: the series played 30% slower and faster and scaled toward the edges of the margin.

The gate holds every file to its bound on stressed test windows as well as on the test split, so
a calibration that suits one waveform (or one speed of it) cannot pass; step files run each of
those windows from a zero state. Int8 calibration uses the same transformations of the training
part (windows, and whole streams for step files), so the calibrated ranges reach the margin too.
"""

from __future__ import annotations

import numpy as np

from runtime.windows import RANGE_MARGIN

EDGE = 1.0 + RANGE_MARGIN  # the edge of the range the runtime accepts without a flag
STRETCH = (0.7, 0.85, 1.15, 1.3)  # time-stretch factors (< 1 slower, > 1 faster)
REACH = (0.8, 0.9, 1.0)  # fraction of EDGE that a stressed window's largest |value| reaches


def stretched_windows(series: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """One stressed window per end index: (n, window, 1).

    Window k ends at sample ends[k] - 1 (the window whose target is ends[k]), covers
    window * factor samples resampled to `window`, and is scaled so its largest |value| reaches
    REACH * EDGE; factor and reach cycle through STRETCH and REACH.
    """
    series = np.asarray(series, np.float64)
    out = np.empty((len(ends), window))
    steps = np.arange(window, 0, -1)  # how far back each sample lies from the target
    for k, end in enumerate(ends):
        factor, reach = STRETCH[k % len(STRETCH)], REACH[k // len(STRETCH) % len(REACH)]
        where = np.clip(end - steps * factor, 0, len(series) - 1)
        w = np.interp(where, np.arange(len(series)), series)
        peak = np.abs(w).max()
        out[k] = w * (reach * EDGE / peak) if peak > 0 else w
    return out[..., None].astype(np.float32)


def stretched_streams(series: np.ndarray) -> list[np.ndarray]:
    """The series played at each STRETCH factor, each scaled and clipped into [-EDGE, EDGE].

    Separate streams, each run from a zero state: joined, the jump from one to the next would be
    a stress of another kind. A stream's scale comes from its 99th percentile, not its peak, so
    one spike does not flatten everything else; the spike is then clipped at the edge.
    """
    series = np.asarray(series, np.float64)
    streams = []
    for factor in STRETCH:
        where = np.arange(0, len(series) - 1, factor)
        s = np.interp(where, np.arange(len(series)), series)
        scale = np.quantile(np.abs(s), 0.99)
        s = np.clip(s * (EDGE / scale) if scale > 0 else s, -EDGE, EDGE)
        streams.append(s.astype(np.float32))
    return streams


def within_margin(windows: np.ndarray) -> np.ndarray:
    """True for each window (n, window[, 1]) whose every sample lies within [-EDGE, EDGE]."""
    w = np.asarray(windows).reshape(len(windows), -1)
    return np.abs(w).max(axis=1) <= EDGE


def stream_within_margin(series: np.ndarray, window: int) -> np.ndarray:
    """True at each step whose last `window` samples all lie within [-EDGE, EDGE]."""
    outside = (np.abs(np.asarray(series)) > EDGE).astype(np.int64)
    recent = np.convolve(outside, np.ones(window, np.int64))[: len(outside)]
    return recent == 0
