"""Checks of data read back from outside (state files, saved records): each value's type and
range, or a ValueError that names the value and says what it should have been."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence


def strict_json(text: str | bytes) -> object:
    """JSON as RFC 8259 has it: NaN, Infinity and numbers that overflow a float are errors."""

    def refuse(token: str) -> float:
        raise ValueError(f"{token} is not JSON")

    def number(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise ValueError(f"{token[:20]} is beyond a float's range")
        return value

    return json.loads(text, parse_constant=refuse, parse_float=number)


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # made once: 4 µs a call


def to_json(value: object) -> bytes:
    """Compact JSON of plain data; ValueError for NaN or infinities (which JSON cannot hold)."""
    return _ENCODER.encode(value).encode()


def integer(value: object, what: str, lo: int = 0, hi: int | None = None) -> int:
    """An int (not a bool) from lo to hi."""
    if type(value) is not int or value < lo or (hi is not None and value > hi):
        top = "" if hi is None else f" to {hi}"
        raise ValueError(f"{what} is {_shown(value)}, not a whole number from {lo}{top}")
    return value


def number(value: object, what: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    """A finite int or float (not a bool) from lo to hi."""
    if type(value) not in (int, float) or not lo <= value <= hi or not math.isfinite(value):
        raise ValueError(f"{what} is {_shown(value)}, not a finite number from {lo:g} to {hi:g}")
    return float(value)


def optional_number(value: object, what: str) -> float | None:
    """None, or a finite number."""
    return None if value is None else number(value, what)


def numbers(value: object, what: str, size: int | None = None) -> list[float]:
    """A list of finite numbers (of `size` of them, if given)."""
    if not isinstance(value, list) or (size is not None and len(value) != size):
        want = "a list" if size is None else f"a list of {size} numbers"
        raise ValueError(f"{what} is {_shown(value)}, not {want}")
    return [number(v, f"{what}[{i}]") for i, v in enumerate(value)]


def rows(value: object, what: str, count: int, width: int) -> list[list[float]]:
    """A list of `count` lists of `width` finite numbers each."""
    if not isinstance(value, list) or len(value) != count:
        raise ValueError(f"{what} is {_shown(value)}, not a list of {count} rows")
    return [numbers(row, f"{what}[{i}]", width) for i, row in enumerate(value)]


def mapping(value: object, what: str, keys: Sequence[str]) -> dict:
    """A dict holding at least `keys`."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} is {_shown(value)}, not an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"{what} has no {missing[0]!r}")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
