"""Numbers as C text: float32 literals that read back to the same float, constant arrays, and
weight matrices (float, or int8 with their scales, rounded by export/rounding.py); and the calls
that chain a model's layers, the same in every source."""

from __future__ import annotations

import numpy as np

from . import rounding

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


def matrix(
    name: str, w: np.ndarray, int8: bool, inputs: np.ndarray | None = None, columns: bool = False
) -> str:
    """A weight matrix as C constants: float values, or int8 ones and one scale per column
    (rounded by GPTQ when given the inputs it multiplies, export/rounding.py); columns: a scale
    per column for a one-row matrix too (each weight exact)."""
    w = np.asarray(w, np.float32)
    shape = f"{w.shape[0]} x {w.shape[1]}"
    if not int8:
        return array(f"{name}_W", w, shape) + f"\nstatic const matrix {name} = {{{name}_W, 0, 0}};"
    # One scale per column, but one for the whole matrix when that holds it exactly (weights
    # training put on the int8 grid, training/snap.py) or when it has a single row (the first
    # layer's input kernel: as many scales as weights otherwise).
    on_grid = rounding.on_int8_grid(w)
    per_column = (w.shape[0] > 1 or columns) and not on_grid
    scale = rounding.scales(w, per_column)
    if inputs is None or on_grid or w.shape[0] == 1:
        q = rounding.nearest(w, scale)
    else:
        q = rounding.gptq(w, scale, inputs)
    return (
        f"static const signed char {name}_W[{q.size}] = {{ /* {shape} */\n"
        + wrap([str(v) for v in q.reshape(-1)])
        + "\n};\n"
        + array(f"{name}_SCALE", scale)
        + f"\nstatic const matrix {name} = {{{name}_W, {name}_SCALE, {int(per_column)}}};"
    )


def layer_calls(layers: list[tuple]) -> tuple[list[str], str, int]:
    """One lstm() or gru() call per layer (weights K{i}, R{i}, B{i}; each layer's h and c in
    `state`, in order; the first layer's input `in`, one wide), and the last layer's h and width,
    the dense head's input."""
    calls, offset, width, inputs = [], 0, 1, "in"
    for i, (cell, _, recurrent, _) in enumerate(layers):
        units = recurrent.shape[0]
        h = f"state + {offset}"
        if cell == "lstm":
            c = f"state + {offset + units}"
            calls.append(f"    lstm({inputs}, {width}, {h}, {c}, {units}, K{i}, R{i}, B{i});")
            offset += 2 * units
        else:
            calls.append(f"    gru({inputs}, {width}, {h}, {units}, K{i}, R{i}, B{i});")
            offset += units
        width, inputs = units, h
    return calls, inputs, width
