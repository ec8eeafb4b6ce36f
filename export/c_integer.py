"""Generate the integer-only C forecaster, for chips without an FPU: forecaster_integer.h (sizes,
the API) and forecaster_integer.c (the weights), beside the fixed csrc/ef_integer.h they include.

int8 weights with one scale per output column, int16 activations and state, int32 sums, a
sigmoid table with linear interpolation (tanh from it: tanh(x) = 2 sigmoid(2x) - 1): no float
anywhere, nothing beyond <stdint.h>. Fixed-point formats (bits after the binary point): the input
and the forecast Q12 (model units, +-8), each layer's h Q15, an LSTM's c Q11 (+-16), gate
pre-activations Q12 in int32. A column's sum of int8 x int16 products is brought to Q12 by one
integer multiply and shift (TFLite's requantization: multiplier in [2^30, 2^31)).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import rounding
from .c_text import COLUMNS, layer_calls

HEADER = "forecaster_integer.h"
SOURCE = "forecaster_integer.c"
FIXED = Path(__file__).parent / "csrc"
KERNELS = "ef_integer.h"  # the fixed C the source includes: the layers in integers
X_BITS, H_BITS, C_BITS = 12, 15, 11  # the input and gates, h, an LSTM's c
# ef_integer.h's SIGMOID table: sigmoid(k / 16) in Q15 (a test holds the file to this)
TABLE = [min(32767, round(32768 / (1 + math.exp(-k / 16)))) for k in range(257)]
MAX_ROWS = 500  # inputs a column sums: 127 * 32767 * 500 stays within int32
# ef_integer.h rounds a column's product in its high word: a shift of 33 or more (a weight
# scale below 1/4 for the Q12 input, below 2 for a Q15 h: far beyond any trained LSTM's)
MIN_SHIFT = 33
GATES = {"lstm": 4, "gru": 3}  # a layer's gates: its matrices' columns are in blocks of units


def ints(name: str, kind: str, values: np.ndarray, note: str = "") -> str:
    """An integer array constant."""
    items = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    lines = "\n".join(
        "    " + ", ".join(items[i : i + 2 * COLUMNS]) + ","
        for i in range(0, len(items), 2 * COLUMNS)
    )
    comment = f" /* {note} */" if note else ""
    return f"static const {kind} {name}[{len(items)}] = {{{comment}\n{lines}\n}};"


def multiplier(real: float) -> tuple[int, int]:
    """(m, shift) with m in [2^30, 2^31) and m / 2^shift = real (> 0), to the nearest m."""
    exponent = math.floor(math.log2(real))
    m, shift = round(real * 2.0 ** (30 - exponent)), 30 - exponent
    if m == 2**31:
        m, shift = m // 2, shift - 1
    return m, shift


def interleaved(q: np.ndarray, gates: int) -> np.ndarray:
    """The int8 weights (rows x columns, Keras's layout: `gates` blocks of units columns) in the
    order ef_integer.h reads them: unit after unit; within a unit, four rows at a time, its
    gates' columns side by side (on a DSP core, where they are stored as int16, a column's four
    are two words: the pairs SMLAD multiplies by the inputs' pairs); then the last n % 4 rows,
    gate after gate. One gate: column after column."""
    n, units = q.shape[0], q.shape[1] // gates
    full = n // 4 * 4
    out = []
    for j in range(units):
        cols = q[:, [g * units + j for g in range(gates)]].T  # (gates, n)
        blocks = cols[:, :full].reshape(gates, -1, 4)
        out += [blocks.transpose(1, 0, 2).reshape(-1), cols[:, full:].reshape(-1)]
    return np.concatenate(out)


def quantized(
    name: str, w: np.ndarray, in_bits: int, inputs: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """int8 weights (rows x columns, Keras's layout) rounded by GPTQ given the inputs, their
    scale per column (one for all where training's grid holds the matrix), and per column the
    multiplier and shift that bring a sum of weights x inputs (Q in_bits) to Q12."""
    w = np.asarray(w, np.float64)
    if w.shape[0] > MAX_ROWS:
        raise ValueError(f"{name}: {w.shape[0]} inputs to a column, at most {MAX_ROWS}")
    # training's int8 grid (training/snap.py) is held exactly by its one scale, as the C int8
    # source and ONNX keep it: a scale per column would round it again, and lose
    grid = rounding.on_int8_grid(w)
    scale = np.broadcast_to(rounding.scales(w, not grid), w.shape[1:]).astype(np.float64)
    q = rounding.nearest(w, scale) if inputs is None else rounding.gptq(w, scale, inputs)
    pairs = [multiplier(s * 2.0 ** (X_BITS - in_bits)) for s in scale]
    if min(shift for _, shift in pairs) < MIN_SHIFT:
        raise ValueError(f"{name}: weights too large for the integer source's Q12 sums")
    return q, scale, pairs


def qmatrix(
    name: str, w: np.ndarray, in_bits: int, inputs: np.ndarray | None, gates: int = 1
) -> str:
    """The qmatrix constant of w: its int8 weights, multipliers and shifts (quantized)."""
    q, _, pairs = quantized(name, w, in_bits, inputs)
    return "\n".join(
        [  # a column after another: each output's weights side by side
            ints(
                f"{name}_W",
                "ef_weight",  # int8 values; int16 where ef_integer.h multiplies pairs (SMLAD)
                interleaved(q, gates),
                f"{q.shape[1]} columns of {q.shape[0]}",
            ),
            ints(f"{name}_MULT", "int32_t", [m for m, _ in pairs]),
            ints(f"{name}_SHIFT", "uint8_t", [s for _, s in pairs]),
            f"static const qmatrix {name} = {{{name}_W, {name}_MULT, {name}_SHIFT}};",
        ]
    )


def first_lstm(
    kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, states: np.ndarray | None
) -> str:
    """A first LSTM layer's constants (lstm_first in ef_integer.h): R0 as qmatrix makes it, and
    its one input's weights X0 and its biases B0 as int32 in the units of each column's sum of
    h (Q15) x R0's int8, so that a column's sum starts at B0 + x X0 (x in Q12)."""
    q, scale, _ = quantized("R0", recurrent, H_BITS, states)
    units = 2.0**H_BITS / scale  # a sum's units per real unit
    x_weight = np.rint(np.reshape(kernel, -1) * units * 2.0**-X_BITS).astype(np.int64)
    b = np.rint(np.reshape(bias, -1) * units).astype(np.int64)
    # the largest sum an int16 x and h can make: it must fit in int32
    top = np.abs(b) + 2**15 * (np.abs(x_weight) + np.abs(q.astype(np.int64)).sum(axis=0))
    if top.max() >= 2**31:
        raise ValueError("K0: input weights too large against R0's for the integer source's sums")
    return "\n".join(
        [
            qmatrix("R0", recurrent, H_BITS, states, GATES["lstm"]),
            ints("X0", "int32_t", x_weight, "x's weight in each column's sum"),
            ints("B0", "int32_t", b, "the bias, in each column's sum"),
        ]
    )


def q12(name: str, values: np.ndarray) -> str:
    """Biases in Q12, int32."""
    return ints(name, "int32_t", np.rint(np.reshape(values, -1) * 2.0**X_BITS).astype(np.int64))


def state_layout(layers: list[tuple]) -> list[tuple[str, int, int]]:
    """(name, units, bits) of each part of the state, in order: h0 (Q15), c0 (Q11, LSTM), ..."""
    parts = []
    for i, (cell, _, recurrent, _) in enumerate(layers):
        units = recurrent.shape[0]
        parts.append((f"h{i}", units, H_BITS))
        parts += [(f"c{i}", units, C_BITS)] if cell == "lstm" else []
    return parts


def write(
    out: Path,
    layers: list[tuple],
    dense: tuple,
    window: int,
    about: str,
    states: list[np.ndarray] | None = None,
) -> None:
    """Write HEADER and SOURCE into out/ (layers, dense, states as export/c.py takes them)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / KERNELS).write_bytes((FIXED / KERNELS).read_bytes())
    (out / HEADER).write_text(header(layers, window, np.shape(dense[0])[1], about))
    (out / SOURCE).write_text(source(layers, dense, about, states))


def header(layers: list[tuple], window: int, horizon: int, about: str) -> str:
    """The header: sizes, formats and the two functions."""
    parts = state_layout(layers)
    layout = " ".join(f"{n}[{k}]/{bits}" for n, k, bits in parts)
    return f"""\
/* Generated by `python -m export` from {about}: do not edit; re-export instead.
 * An integer-only recurrent forecaster in C99 for chips without an FPU: add this header and
 * {SOURCE} to your project (nothing to link). Values are fixed point, model units:
 * (sample - center) / scale, the normalization in model.json, times 2^bits. */
#ifndef EDGE_FORECASTER_INTEGER_H
#define EDGE_FORECASTER_INTEGER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define EFI_WINDOW {window} /* inputs before the first forecast */
#define EFI_HORIZON {horizon} /* forecasts a step makes: of the next EFI_HORIZON inputs */
#define EFI_X_BITS {X_BITS} /* the input and the forecasts: model units * 2^12 (+-8) */
#define EFI_STATE_SIZE {sum(k for _, k, _ in parts)} /* int16 values of recurrent state */
#define EFI_STATE_LAYOUT "{layout}" /* its parts, in order: name[values]/bits */

/* One step from `state` (updated in place; all zero to start) with input x; writes the model's
 * EFI_HORIZON outputs to y: the forecasts of the next inputs (see model.json's normalization
 * for a model of several ahead). efi_step_rows does `rows` independent states at once (y: rows x
 * EFI_HORIZON). */
void efi_step(int16_t state[EFI_STATE_SIZE], int16_t x, int16_t y[EFI_HORIZON]);
void efi_step_rows(int rows, int16_t *states, const int16_t *x, int16_t *y);

#ifdef __cplusplus
}}
#endif

#endif /* EDGE_FORECASTER_INTEGER_H */
"""


def source(
    layers: list[tuple], dense: tuple, about: str, states: list[np.ndarray] | None = None
) -> str:
    """The C99 source (int8 weights rounded by GPTQ on `states`, each layer's h)."""
    constants = []
    for i, (cell, kernel, recurrent, bias) in enumerate(layers):
        below, own = (None, None) if states is None else (states[i - 1] if i else None, states[i])
        if i == 0 and cell == "lstm":
            constants.append(first_lstm(kernel, recurrent, bias, own))
            continue
        constants += [  # the first layer's input is the sample (Q12), the others' an h (Q15)
            qmatrix(f"K{i}", kernel, H_BITS if i else X_BITS, below, GATES[cell]),
            qmatrix(f"R{i}", recurrent, H_BITS, own, GATES[cell]),
            q12(f"B{i}", bias),
        ]
    calls, inputs, width = layer_calls(layers)
    units = layers[0][2].shape[0]
    calls[0] = (  # the sample: folded into an LSTM's sums, an array of one for a GRU
        f"    lstm_first(x, state + 0, state + {units}, {units}, X0, R0, B0);"
        if layers[0][0] == "lstm"
        else "    const int16_t in[1] = {x};\n" + calls[0]
    )
    last = None if states is None else states[-1]
    constants += [qmatrix("D", dense[0], H_BITS, last), q12("D_BIAS", dense[1])]
    cells = [cell for cell, *_ in layers]
    calls_text, constants_text = "\n".join(calls), "\n".join(constants)
    return f"""\
/* Generated by `python -m export` from {about}: do not edit; re-export instead.
 * int8 weights, int16 activations and state, int32 sums: no float. The model's weights and its
 * layers' order; the rest is the same for every model ({KERNELS}). */
#include <stdint.h>

#include "{HEADER}"

#define UNITS {max(r.shape[0] for _, _, r, _ in layers)} /* the widest layer */
#define EF_LSTM_FIRST {int(layers[0][0] == "lstm")}
#define EF_LSTM {int("lstm" in cells[1:])}
#define EF_GRU {int("gru" in cells)}
#include "{KERNELS}"

{constants_text}

void efi_step(int16_t state[EFI_STATE_SIZE], int16_t x, int16_t y[EFI_HORIZON]) {{
{calls_text}
    for (int j = 0; j < EFI_HORIZON; j++) {{
        int32_t z = 0;
        gates(D, j, EFI_HORIZON, 1, {inputs}, {width}, &z);
        y[j] = saturate(D_BIAS[j] + z);
    }}
}}
"""
