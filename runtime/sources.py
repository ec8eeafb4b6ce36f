"""Sample sources: CSV / one-number-per-line text, a serial port, and the simulated sensor."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .signals import SensorSignal


@dataclass(frozen=True)
class Sample:
    """One parsed input line: values (one per column) or the reason it was skipped."""

    line: int
    values: tuple[float, ...] | None
    error: str | None = None


def parse_number(text: str) -> float:
    """A finite float, or ValueError saying why not."""
    text = text.strip()
    if not text:
        raise ValueError("empty value")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text[:40]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def read_samples(lines: Iterable[str], columns: list[str] | None = None) -> Iterator[Sample]:
    """Parse text lines: one number per line, or CSV with a header row and the named columns.

    A header is recognised when the first non-empty line is not a number. Bad lines are yielded
    with an error (never raised) so the caller can report them and go on.
    """
    it = iter(lines)
    header: list[str] | None = None
    indices: list[int] = [0]
    line_no = 0
    for raw in it:
        line_no += 1
        text = raw.strip()
        if not text:
            yield Sample(line_no, None, "empty line")
            continue
        fields = next(csv.reader([text]))
        if header is None and not _is_number(fields[0]) and (columns or len(fields) > 1):
            header = [f.strip() for f in fields]
            indices = _column_indices(header, columns)
            break
        if columns:
            raise UserError(f"--column given but line {line_no} is not a CSV header: {text[:60]!r}")
        yield _parse_fields(line_no, fields, indices, 1)
        break
    width = len(header) if header else 1
    for raw in it:
        line_no += 1
        text = raw.strip()
        if not text:
            yield Sample(line_no, None, "empty line")
            continue
        yield _parse_fields(line_no, next(csv.reader([text])), indices, width)


def _column_indices(header: list[str], columns: list[str] | None) -> list[int]:
    if not columns:
        numeric = [h for h in header if h]
        if len(header) == 1:
            return [0]
        raise UserError(
            f"the CSV has several columns ({', '.join(numeric)}): choose one with --column NAME"
        )
    missing = [c for c in columns if c not in header]
    if missing:
        raise UserError(
            f"column {', '.join(map(repr, missing))} is not in the CSV; "
            f"its columns are: {', '.join(header)}"
        )
    return [header.index(c) for c in columns]


def _parse_fields(line_no: int, fields: list[str], indices: list[int], width: int) -> Sample:
    if len(fields) != width:
        return Sample(line_no, None, f"expected {width} field(s), found {len(fields)}")
    try:
        return Sample(line_no, tuple(parse_number(fields[i]) for i in indices))
    except ValueError as e:
        return Sample(line_no, None, str(e))


def read_csv_column(path: Path, column: str | None) -> list[Sample]:
    """Every row of one column of a CSV file (or a one-number-per-line text file)."""
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        return list(read_samples(f, [column] if column else None))


def simulated(count: int | None, rate: float | None, seed: int) -> Iterator[Sample]:
    """The seeded synthetic sensor, optionally paced at `rate` samples per second."""
    chunk = 4096
    signal = SensorSignal()
    start = time.monotonic()
    n = 0
    while count is None or n < count:
        for v in signal.generate(chunk, seed=seed, start=n):
            if count is not None and n >= count:
                return
            if rate:
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            n += 1
            yield Sample(n, (float(v),))
