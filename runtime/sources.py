"""Sample sources: CSV / one-number-per-line text, a serial port, and the simulated sensor."""

from __future__ import annotations

import csv
import math
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import UserError
from .signals import SensorSignal
from .windows import Normalization

MAX_LINE_BYTES = 4096  # longer lines are bad lines: no reading is that long
SIM_FILL = 0.8  # fraction of the training range the simulated sensor's clean signal spans


class ColumnError(UserError):
    """The CSV's columns do not fit the column asked for (or none was): an app that takes the
    column as an option says which."""


@dataclass(frozen=True)
class Sample:
    """One parsed input line: values (one per column) or the reason it was skipped."""

    line: int
    values: tuple[float, ...] | None
    error: str | None = None


def excerpt(text: str, limit: int = 40) -> str:
    """A short, escaped quotation of untrusted text for a message."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def parse_number(text: str) -> float:
    """A finite float, or ValueError saying why not."""
    text = text.strip()
    if not text:
        raise ValueError("empty value")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number: {excerpt(text)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{excerpt(text)} is not a finite number")
    return value


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def bounded_lines(f: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary stream, each cut to limit + 1 bytes: memory stays bounded."""
    while line := f.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            rest = line
            while rest and not rest.endswith(b"\n"):  # drop the rest of an overlong line
                rest = f.readline(1 << 16)
        yield line


def _text(raw: str | bytes) -> str:
    """One input line as text without its line end; ValueError if it cannot be a reading."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"line longer than {MAX_LINE_BYTES} bytes")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"not UTF-8 text: {raw[:24]!r}...") from None
    return raw.strip()


def _fields(text: str) -> list[str]:
    """The CSV fields of one line; ValueError for a line the csv module cannot parse."""
    if not text.isprintable():
        raise ValueError(f"control characters in the line: {excerpt(text)}")
    try:
        return next(csv.reader([text]))
    except csv.Error as e:
        raise ValueError(f"malformed CSV ({e}): {excerpt(text)}") from None


def read_samples(
    lines: Iterable[str | bytes], columns: list[str] | None = None
) -> Iterator[Sample]:
    """Parse lines: one number per line, or CSV with a header row and the named columns.

    A header is recognised when the first non-empty line is printable text and not a number. Bad
    lines (undecodable, overlong, malformed, not numbers) are yielded with an error, never raised,
    so the caller can report them and go on.
    """
    header: list[str] | None = None
    indices: list[int] = [0]
    width = 1
    first = True
    for line_no, raw in enumerate(lines, 1):
        try:
            text = _text(raw)
            if not text:
                yield Sample(line_no, None, "empty line")
                continue
            fields = _fields(text)
        except ValueError as e:
            if first and columns:
                raise ColumnError(
                    f"a column was named but line {line_no} is not a CSV header: {e}"
                ) from None
            first = False
            yield Sample(line_no, None, str(e))
            continue
        if first:
            first = False
            if not _is_number(fields[0]) and (columns or len(fields) > 1):
                header = [f.strip() for f in fields]
                indices, width = _column_indices(header, columns), len(header)
                continue
            if columns:
                raise ColumnError(
                    f"a column was named but line {line_no} is not a CSV header: {excerpt(text)}"
                )
        yield _parse_fields(line_no, fields, indices, width)


def _column_indices(header: list[str], columns: list[str] | None) -> list[int]:
    names = ", ".join(h[:20] for h in header[:8]) + (", ..." if len(header) > 8 else "")
    if not columns:
        if len(header) == 1:
            return [0]
        raise ColumnError(f"the CSV has several columns ({names}): name the one to read")
    missing = [c for c in columns if c not in header]
    if missing:
        raise ColumnError(
            f"column {', '.join(map(repr, missing))} is not in the CSV; its columns are: {names}"
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
    with path.open("rb") as f:
        return list(read_samples(bounded_lines(f), [column] if column else None))


def simulated(
    count: int | None, rate: float | None, seed: int, norm: Normalization | None = None
) -> Iterator[Sample]:
    """The seeded synthetic sensor, optionally paced at `rate` samples per second.

    With `norm`, its clean signal fills SIM_FILL of the model's training range (for a change
    model, the range of its steps; its spikes go beyond), so a demo shows forecasts rather than
    the range guard.
    """
    chunk = 4096
    signal = SensorSignal()
    scale = SIM_FILL / signal.half_range
    if norm is not None and norm.lead:  # fill the range of the steps instead
        clean = signal.generate(chunk, seed=seed, spikes=False)
        scale = SIM_FILL / float(np.abs(np.diff(clean)).max())
    start = time.monotonic()
    n = 0
    while count is None or n < count:
        values = signal.generate(chunk, seed=seed, start=n)
        if norm is not None and norm.lead:
            values = (values - signal.offset) * scale * norm.scale + norm.center * np.arange(
                n, n + chunk
            )
        elif norm is not None:
            values = norm.invert((values - signal.offset) * scale)
        for v in values:
            if count is not None and n >= count:
                return
            if rate:
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            n += 1
            yield Sample(n, (float(v),))


def serial_lines(port: str, baud: int) -> Iterator[bytes]:
    """Lines from a serial port (one reading per line); SerialException if it disappears."""
    try:
        import serial
    except ImportError:
        raise UserError(
            f"reading serial port {port} needs pyserial: pip install pyserial (or the wheel's "
            "[serial] extra)"
        ) from None

    try:
        conn = serial.Serial(port, baudrate=baud, timeout=None)
    except (serial.SerialException, OSError) as e:
        raise UserError(f"cannot open serial port {port}: {e}") from None
    # pyserial flushes the input on open: only what arrives from now on is read
    print(f"reading {port} at {baud} baud (Ctrl-C to stop)", file=sys.stderr, flush=True)
    with conn:
        yield from bounded_lines(conn)
