"""NAB's scoring, written from the NAB paper and its documentation (Lavin & Ahmad 2015, NAB v1.1).

Each labelled anomaly window rewards its earliest detection by a scaled sigmoid of where in the
window it fell (1 at the left edge, 0 at the right); a window with no detection costs fnWeight;
a detection outside every window costs fpWeight times a sigmoid of its distance past the previous
window (the full cost before the first window, or three window widths past one). The first 15% of
each file (at most 750 rows) is not scored. The threshold on the anomaly score is the one that
maximizes the sum over the whole corpus, and the sum is normalized so that the null detector
(a constant score) scores 0 and the perfect one (every window detected at its left edge) 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .corpus import probation_rows

NO_DETECTION = 1.1  # a threshold above every score: nothing detected


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """A detection's value at a position relative to its window's right edge (in widths):
    -1 (the left edge) -> 0.987, 0 (the right edge) -> 0, 1 past it -> -0.987, beyond 3: -1."""
    position = np.asarray(position, dtype=np.float64)
    return np.where(position > 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0)


@dataclass
class FileRows:
    """One file's scorable rows: each row's value as a detection and its window (-1: none)."""

    scores: np.ndarray  # the detector's anomaly score per row
    tp_value: np.ndarray  # unweighted value of a detection inside a window (0 elsewhere)
    fp_value: np.ndarray  # unweighted value of a detection outside every window (0 inside)
    window: np.ndarray  # index of the window the row lies in, -1 outside
    n_windows: int


def file_rows(times: np.ndarray, scores: np.ndarray, windows: list[tuple[str, str]]) -> FileRows:
    """Per row, what a detection there is worth; the probationary rows are left out."""
    from .corpus import timestamps

    n = len(times)
    window = np.full(n, -1)
    tp_value = np.zeros(n)
    fp_value = np.full(n, -1.0)  # before any window: the full cost
    prev_right, prev_width = None, None
    for k, (start, end) in enumerate(windows):
        left, right = (int(np.searchsorted(times, t)) for t in timestamps([start, end]))
        if (
            right >= n
            or times[left] != timestamps([start])[0]
            or times[right] != timestamps([end])[0]
        ):
            raise ValueError(f"window {start} .. {end} does not match the file's timestamps")
        width = right - left + 1
        if prev_right is not None:  # between the previous window and this one
            gap = np.arange(prev_right + 1, left)
            fp_value[gap] = scaled_sigmoid(np.abs(prev_right - gap) / (prev_width - 1))
        inside = np.arange(left, right + 1)
        window[inside] = k
        tp_value[inside] = scaled_sigmoid(-(right - inside + 1) / width)
        fp_value[inside] = 0.0
        prev_right, prev_width = right, width
    if prev_right is not None:
        after = np.arange(prev_right + 1, n)
        fp_value[after] = scaled_sigmoid(np.abs(prev_right - after) / (prev_width - 1))
    keep = np.arange(n) >= probation_rows(n)
    return FileRows(
        np.asarray(scores, dtype=np.float64)[keep],
        tp_value[keep],
        fp_value[keep],
        window[keep],
        len(windows),
    )


@dataclass(frozen=True)
class Sweep:
    """The corpus score at every distinct threshold, highest threshold first."""

    thresholds: np.ndarray
    totals: np.ndarray

    def best(self) -> tuple[float, float]:
        """(threshold, score) of the highest score; the highest threshold among equals."""
        i = int(np.argmax(self.totals))
        return float(self.thresholds[i]), float(self.totals[i])

    def at(self, threshold: float) -> float:
        """The score when every row scoring at least `threshold` is a detection."""
        i = np.searchsorted(-self.thresholds, -threshold, side="right") - 1
        return float(self.totals[max(i, 0)])


def sweep(files: list[FileRows], cost: dict) -> Sweep:
    """Score the corpus for every threshold at once: rows sorted by score, detections added
    one by one, each window counting its best (earliest) detection so far."""
    tp_w, fp_w, fn_w = cost["tpWeight"], cost["fpWeight"], cost["fnWeight"]
    max_tp = float(scaled_sigmoid(-1.0))
    offsets = np.cumsum([0] + [f.n_windows for f in files])
    scores = np.concatenate([f.scores for f in files])
    window = np.concatenate(
        [np.where(f.window >= 0, f.window + o, -1) for f, o in zip(files, offsets, strict=False)]
    )
    tp = np.concatenate([f.tp_value for f in files]) * tp_w / max_tp
    fp = np.concatenate([f.fp_value for f in files]) * fp_w
    scorable = np.unique(window[window >= 0])  # windows with a row after the probation
    order = np.argsort(-scores, kind="stable")
    scores, window, tp, fp = scores[order], window[order], tp[order], fp[order]
    # change in the total as each row becomes a detection
    delta = np.where(window < 0, fp, 0.0)
    for w in scorable:
        rows = np.flatnonzero(window == w)
        best = np.maximum.accumulate(np.maximum(tp[rows], -fn_w))
        delta[rows] = np.diff(best, prepend=-fn_w)
    totals = -fn_w * len(scorable) + np.cumsum(delta)
    last = np.flatnonzero(np.diff(scores, append=-np.inf) != 0)  # each threshold's last row
    return Sweep(
        np.concatenate([[NO_DETECTION], scores[last]]),
        np.concatenate([[-fn_w * len(scorable)], totals[last]]),
    )


def normalized(score: float, null: float, windows: int, cost: dict) -> float:
    """100 for the perfect detector, 0 for the null one."""
    perfect = windows * cost["tpWeight"]
    return 100.0 * (score - null) / (perfect - null)


def null_files(files: list[FileRows]) -> list[FileRows]:
    """The null detector's rows: the same files with a constant score of 0.5."""
    return [
        FileRows(np.full_like(f.scores, 0.5), f.tp_value, f.fp_value, f.window, f.n_windows)
        for f in files
    ]


def score_corpus(
    files: list[FileRows], profiles: dict[str, dict], thresholds: dict[str, float] | None = None
) -> dict[str, dict]:
    """Per profile: the threshold (the corpus's best, or the one given), the raw score, the null
    detector's, and the normalized score."""
    windows = sum(f.n_windows for f in files)
    out = {}
    for name, cost in profiles.items():
        scores = sweep(files, cost)
        threshold, raw = scores.best()
        if thresholds and name in thresholds:
            threshold = thresholds[name]
            raw = scores.at(threshold)
        _, null = sweep(null_files(files), cost).best()
        out[name] = {
            "threshold": threshold,
            "raw": raw,
            "null": null,
            "score": normalized(raw, null, windows, cost),
        }
    return out
