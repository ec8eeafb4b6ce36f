"""Numbers as C text: float32 literals that read back to the same float, and constant arrays."""

from __future__ import annotations

import numpy as np

COLUMNS = 8  # constants per line of generated C


def array(name: str, values: np.ndarray, shape: str | None = None) -> str:
    """A float array constant."""
    items = [float_literal(v) for v in np.asarray(values, np.float32).reshape(-1)]
    note = f" /* {shape} */" if shape else ""
    return f"static const float {name}[{len(items)}] = {{{note}\n{wrap(items)}\n}};"


def wrap(items: list[str]) -> str:
    """Constants, COLUMNS to a line, each line indented and ending in a comma."""
    return "\n".join(
        "    " + ", ".join(items[i : i + COLUMNS]) + "," for i in range(0, len(items), COLUMNS)
    )


def float_literal(x: float) -> str:
    """A float32 as a C literal that reads back to the same float32."""
    text = np.format_float_scientific(np.float32(x), unique=True, trim="-")
    return f"{text}f"
