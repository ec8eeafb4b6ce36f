"""A folder in the Numenta Anomaly Benchmark's layout: data/, labels/, config/profiles.json."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import UserError

WINDOWS = Path("labels/combined_windows.json")
PROFILES = Path("config/profiles.json")
PROBATION = 0.15  # NAB: the first 15% of a file (at most 750 rows) is not scored
PROBATION_CAP_ROWS = 5000  # ... of the first 5,000 rows


def probation_rows(rows: int) -> int:
    """Rows at the start of a file that NAB does not score: min(15% of it, 15% of 5,000)."""
    return int(min(math.floor(PROBATION * rows), PROBATION * PROBATION_CAP_ROWS))


def timestamps(texts: list[str]) -> np.ndarray:
    """NAB timestamps ('2014-02-19 10:50:00', labels may add '.000000') as datetime64[s]."""
    return np.array([t.strip().replace(" ", "T") for t in texts], dtype="datetime64[s]")


@dataclass(frozen=True)
class Series:
    """One file of the corpus: its name relative to data/ and its labelled windows."""

    name: str  # e.g. realKnownCause/nyc_taxi.csv
    path: Path
    windows: list[tuple[str, str]]

    @property
    def category(self) -> str:
        """The folder it lies in, e.g. realKnownCause."""
        return self.name.split("/")[0]

    @property
    def stem(self) -> str:
        """The file name without .csv, e.g. nyc_taxi."""
        return Path(self.name).stem

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """Its timestamps (datetime64[s]) and values."""
        with self.path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        return timestamps([r["timestamp"] for r in rows]), np.array(
            [float(r["value"]) for r in rows]
        )


class Corpus:
    """The files, windows and profiles of a NAB folder (../shared/nab, or a clone of NAB)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        for need in ("data", WINDOWS, PROFILES):
            if not (self.root / need).exists():
                raise UserError(
                    f"{self.root} is not a NAB folder: {need} is missing (expected NAB's "
                    "layout: data/<category>/<file>.csv, labels/combined_windows.json, "
                    "config/profiles.json)"
                )
        windows = json.loads((self.root / WINDOWS).read_text())
        self.profiles = {
            name: p["CostMatrix"]
            for name, p in json.loads((self.root / PROFILES).read_text()).items()
        }
        self.series = [
            Series(name, self.root / "data" / name, [tuple(w) for w in windows[name]])
            for name in sorted(windows)
            if (self.root / "data" / name).is_file()
        ]
        if not self.series:
            raise UserError(f"{self.root}/data holds none of the files its labels name")

    def select(self, patterns: list[str] | None) -> list[Series]:
        """The files whose names contain one of the patterns (all without patterns)."""
        if not patterns:
            return self.series
        chosen = [s for s in self.series if any(p in s.name for p in patterns)]
        if not chosen:
            raise UserError(f"no NAB file matches {', '.join(patterns)}")
        return chosen

    @property
    def window_count(self) -> int:
        """Labelled windows in the whole corpus: the perfect detector's score is this many TPs."""
        return sum(len(s.windows) for s in self.series)
