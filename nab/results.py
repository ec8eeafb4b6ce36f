"""A detector's results in NAB's own layout: results/<detector>/<category>/<detector>_<file>.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .corpus import Corpus, Series, timestamps
from .scorer import FileRows, file_rows, score_corpus

COLUMNS = ("timestamp", "value", "anomaly_score", "label")


def result_path(root: Path, detector: str, series: Series) -> Path:
    """Where NAB's run.py looks for a detector's output on one file."""
    return root / detector / series.category / f"{detector}_{Path(series.name).name}"


def labels(times: np.ndarray, series: Series) -> np.ndarray:
    """1 inside a labelled window, else 0 (NAB's `label` column)."""
    out = np.zeros(len(times), dtype=int)
    for start, end in series.windows:
        lo, hi = timestamps([start, end])
        out[(times >= lo) & (times <= hi)] = 1
    return out


def write_result(
    path: Path, times: list[str], values: np.ndarray, scores: np.ndarray, label: np.ndarray
) -> None:
    """One file's rows as NAB writes them: timestamp, value, anomaly_score, label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for row in zip(times, values, scores, label, strict=True):
            w.writerow([row[0], repr(float(row[1])), f"{row[2]:.6f}", int(row[3])])


def read_scores(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A results file's timestamps and anomaly scores."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return timestamps([r["timestamp"] for r in rows]), np.array(
        [float(r["anomaly_score"]) for r in rows]
    )


def score_detector(
    corpus: Corpus,
    root: Path,
    detector: str,
    names: list[str] | None = None,
    thresholds: dict[str, float] | None = None,
) -> tuple[dict, dict[str, FileRows]]:
    """NAB's three profile scores for a detector's results under root (every corpus file, or
    those named; at the corpus's best thresholds or those given), and per file its rows."""
    files: dict[str, FileRows] = {}
    for series in corpus.select(names):
        path = result_path(root, detector, series)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the detector has no result for it")
        times, scores = read_scores(path)
        files[series.name] = file_rows(times, scores, series.windows)
    return score_corpus(list(files.values()), corpus.profiles, thresholds), files
