"""The fixed C of export/csrc/ on its own: each file compiles as strict C99 without a model, and
each layer (LSTM and GRU; float, int8 weights and integer-only) matches the numpy reference
(runtime/cells.py's arithmetic) on one step from random weights and state."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from export.c import FIXED, model_header
from export.c_integer import H_BITS, TABLE, X_BITS, first_lstm, q12, qmatrix
from export.c_text import array, matrix
from runtime.windows import Normalization

CC = shutil.which("cc") or shutil.which("gcc")
STRICT = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2"]
N, UNITS = 3, 5  # inputs and units of the layer under test
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


def run_c(tmp_path, program: str) -> np.ndarray:
    """Compile `program` (beside the fixed files) strictly, run it, the numbers it printed."""
    source = tmp_path / "main.c"
    source.write_text(program)
    exe = tmp_path / "main"
    cmd = [CC, *STRICT, "-I", str(FIXED), "-o", str(exe), str(source), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return np.array(out.split(), dtype=np.float64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def lstm_step(x, h, c, kernel, recurrent, bias):
    i, f, g, o = np.split(x @ kernel + h @ recurrent + bias, 4)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def gru_step(x, h, kernel, recurrent, bias):
    xz, xr, xh = np.split(x @ kernel + bias[0], 3)
    rz, rr, rh = np.split(h @ recurrent + bias[1], 3)
    z, r = sigmoid(xz + rz), sigmoid(xr + rr)
    return z * h + (1 - z) * np.tanh(xh + r * rh)


def on_column_grid(rng, rows: int, cols: int) -> np.ndarray:
    """Weights an int8 matrix holds exactly: per column, int8 values (one of them 127) times a
    scale, so the C's int8 weights and numpy's float ones are the same numbers."""
    q = rng.integers(-127, 128, (rows, cols))
    q[rng.integers(0, rows, cols), np.arange(cols)] = 127
    return (q * rng.uniform(0.002, 0.01, cols)).astype(np.float32)


def floats(name: str, values: np.ndarray) -> str:
    items = ", ".join(f"{v!r}f" for v in np.asarray(values, np.float32).reshape(-1).tolist())
    return f"float {name}[{np.size(values)}] = {{{items}}};"


def layer(rng, gates: int, inputs: int = N):
    kernel, recurrent = (
        on_column_grid(rng, inputs, gates * UNITS),
        on_column_grid(rng, UNITS, gates * UNITS),
    )
    bias = rng.normal(0, 0.3, (2, gates * UNITS) if gates == 3 else gates * UNITS)
    return kernel, recurrent, bias.astype(np.float32)


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_the_float_layers_match_numpy(tmp_path, int8):
    rng = np.random.default_rng(1)
    x, h, c = (rng.uniform(-1, 1, n).astype(np.float32) for n in (N, UNITS, UNITS))
    lk, lr, lb = layer(rng, 4)
    gk, gr, gb = layer(rng, 3)
    program = f"""\
#include <stdio.h>
#define GATES {4 * UNITS}
#define EF_INT8_WEIGHTS {int(int8)}
#define EF_LSTM 1
#define EF_GRU 1
#include "ef_float.h"
{matrix("LK", lk, int8)}
{matrix("LR", lr, int8)}
{array("LB", lb)}
{matrix("GK", gk, int8)}
{matrix("GR", gr, int8)}
{array("GB", gb)}
int main(void) {{
    {floats("x", x)}
    {floats("h", h)}
    {floats("c", c)}
    {floats("g", h)}
    lstm(x, {N}, h, c, {UNITS}, LK, LR, LB);
    gru(x, {N}, g, {UNITS}, GK, GR, GB);
    for (int j = 0; j < {UNITS}; j++) printf("%.9g %.9g %.9g\\n", h[j], c[j], g[j]);
    return 0;
}}
"""
    got = run_c(tmp_path, program).reshape(UNITS, 3).T
    want_h, want_c = lstm_step(x, h, c, lk, lr, lb)
    np.testing.assert_allclose(got[0], want_h, atol=2e-6)
    np.testing.assert_allclose(got[1], want_c, atol=2e-6)
    np.testing.assert_allclose(got[2], gru_step(x, h, gk, gr, gb), atol=2e-6)


def test_the_integer_layers_match_numpy_within_their_fixed_point(tmp_path):
    """An LSTM above another layer, a first LSTM layer (its one input folded into its sums) and
    a GRU, one step each."""
    rng = np.random.default_rng(2)
    x, h, c = rng.uniform(-1, 1, N), rng.uniform(-0.9, 0.9, UNITS), rng.uniform(-2, 2, UNITS)
    lk, lr, lb = layer(rng, 4)
    fk, fr, fb = layer(rng, 4, inputs=1)
    gk, gr, gb = layer(rng, 3)

    def fixed(name: str, v: np.ndarray, bits: int) -> str:
        items = ", ".join(str(int(q)) for q in np.rint(np.asarray(v) * 2.0**bits))
        return f"int16_t {name}[{np.size(v)}] = {{{items}}};"

    program = f"""\
#include <stdio.h>
#include <stdint.h>
#define EFI_X_BITS {X_BITS}
#define EFI_STATE_SIZE 1
#define EFI_HORIZON 1
#define UNITS {UNITS}
#define EF_LSTM_FIRST 1
#define EF_LSTM 1
#define EF_GRU 1
void efi_step(int16_t state[EFI_STATE_SIZE], int16_t x, int16_t y[EFI_HORIZON]);
#include "ef_integer.h"
void efi_step(int16_t state[EFI_STATE_SIZE], int16_t x, int16_t y[EFI_HORIZON]) {{
    y[0] = (int16_t)(state[0] + x);
}}
{qmatrix("LK", lk, X_BITS, None, 4)}
{qmatrix("LR", lr, H_BITS, None, 4)}
{q12("LB", lb)}
{first_lstm(fk, fr, fb, None)}
{qmatrix("GK", gk, X_BITS, None, 3)}
{qmatrix("GR", gr, H_BITS, None, 3)}
{q12("GB", gb)}
int main(void) {{
    {fixed("x", x, X_BITS)}
    {fixed("h", h, H_BITS)}
    {fixed("c", c, 11)}
    {fixed("g", h, H_BITS)}
    {fixed("fh", h, H_BITS)}
    {fixed("fc", c, 11)}
    lstm(x, {N}, h, c, UNITS, LK, LR, LB);
    lstm_first(x[0], fh, fc, UNITS, X0, R0, B0);
    gru(x, {N}, g, UNITS, GK, GR, GB);
    for (int j = 0; j < UNITS; j++) printf("%d %d %d %d %d\\n", h[j], c[j], fh[j], fc[j], g[j]);
    return 0;
}}
"""
    scale = 2.0 ** np.array([[H_BITS], [11], [H_BITS], [11], [H_BITS]])
    got = run_c(tmp_path, program).reshape(UNITS, 5).T / scale
    for got_h, got_c, want in [
        (got[0], got[1], lstm_step(x, h, c, lk, lr, lb)),
        (got[2], got[3], lstm_step(x[:1], h, c, fk, fr, fb)),
    ]:
        np.testing.assert_allclose(got_h, want[0], atol=3e-3)
        np.testing.assert_allclose(got_c, want[1], atol=3e-3)
    np.testing.assert_allclose(got[4], gru_step(x, h, gk, gr, gb), atol=3e-3)


def test_the_integer_sigmoid_table_is_the_generators(tmp_path):
    """ef_integer.h's table is sigmoid(k / 16) in Q15, as export/c_integer.py states it."""
    text = (FIXED / "ef_integer.h").read_text()
    body = text[text.index("SIGMOID[257] = {") :].split("};")[0]
    values = [int(v) for v in body.split("*/")[1].replace(",", " ").split()]
    assert values == TABLE


def test_the_stream_compiles_on_its_own_with_any_model_header(tmp_path):
    """forecaster.h and ef_stream.h with a model header and a trivial step (a change model with a
    period, and a level model of 3 samples ahead without), strict: nothing in them needs a
    particular model."""
    for lead, period, horizon in ((1, 24, 1), (0, 0, 3)):
        (tmp_path / "forecaster_model.h").write_text(
            model_header(
                [("gru", None, np.zeros((2, 6)), None)],
                Normalization(0.0, 2.0, "change" if lead else "level"),
                8,
                horizon,
                {"threshold": 0.9, "period": period, "range": (-1.0, 1.0)},
                "a test",
            )
        )
        program = """\
#include <stdio.h>
#include "forecaster.h"
#define CENTER 0.0f
#define SCALE 2.0f
#define OUT_SCALE 2.0f
#define OUT_CENTER 0.0f
#define LIMIT 1.1f
void ef_step(float state[EF_STATE_SIZE], float x, float y[EF_HORIZON]) {
    for (int h = 0; h < EF_HORIZON; h++) y[h] = state[0] += x;
}
#include "ef_stream.h"
int main(void) {
    ef_stream s;
    float y[EF_HORIZON] = {0};
    ef_reset(&s);
    for (int t = 0; t < 40; t++) ef_push(&s, (float)(t % 5), y);
    printf("%g %ld\\n", y[EF_HORIZON - 1], s.count);
    return 0;
}
"""
        source = tmp_path / "main.c"
        source.write_text(program)
        cmd = [CC, *STRICT, "-I", str(tmp_path), "-I", str(FIXED), "-o", str(tmp_path / "m")]
        subprocess.run([*cmd, str(source), "-lm"], check=True)
        out = subprocess.run([str(tmp_path / "m")], capture_output=True, text=True, check=True)
        assert out.stdout.split()[1] == "40"
