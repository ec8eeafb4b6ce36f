"""The series of a fleet: CSV files, folders of them (NAB's data/ as it is) or globs."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import UserError

# training options the fleet chooses per series, not passed through to `python -m training`
PER_SERIES = ("data", "column", "rows", "out")


@dataclass(frozen=True)
class SeriesInput:
    """One CSV and the name its folder takes in the fleet (its path below the folder given)."""

    name: str
    path: Path


def find_series(specs: list[str]) -> list[SeriesInput]:
    """Every CSV the specs name, each once, in a stable order; a UserError if none."""
    found: dict[str, SeriesInput] = {}
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            for csv in sorted(path.rglob("*.csv")):
                name = str(csv.relative_to(path).with_suffix(""))
                found.setdefault(name, SeriesInput(name, csv))
        elif path.is_file():
            found.setdefault(path.stem, SeriesInput(path.stem, path))
        else:
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
            if not matches:
                raise UserError(f"{spec!r} is not a CSV file, a folder or a glob that matches one")
            for m in matches:
                if m.is_file():
                    found.setdefault(m.stem, SeriesInput(m.stem, m))
    if not found:
        raise UserError(f"no CSV file in {', '.join(specs)}")
    return list(found.values())


def count_rows(path: Path) -> int:
    """Data rows of a CSV (lines after the header that hold anything)."""
    with path.open("rb") as f:
        return max(0, sum(1 for line in f if line.strip()) - 1)
