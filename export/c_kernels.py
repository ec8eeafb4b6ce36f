"""The C of the layers: an LSTM step, a GRU step and the matrix product each precision uses, as
export/c.py puts them in a source (C text, no placeholders); and the calls that chain the layers,
which the integer source (export/c_integer.py) makes the same way."""


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


LSTM = """\
/* One LSTM step (Keras's gates i, f, c, o): x is n wide; h and c are updated in place. */
static void lstm(const float *x, int n, float *h, float *c, int units, matrix k, matrix r,
                 const float *b) {
    float z[GATES];
    for (int j = 0; j < 4 * units; j++) z[j] = b[j];
    matvec(z, x, n, k, 4 * units);
    matvec(z, h, units, r, 4 * units);
    for (int j = 0; j < units; j++) {
        float i = sigmoid(z[j]), f = sigmoid(z[units + j]);
        float g = tanh_(z[2 * units + j]), o = sigmoid(z[3 * units + j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * tanh_(c[j]);
    }
}
"""

GRU = """\
/* One GRU step (Keras's gates z, r, h, reset after the product): h is updated in place. */
static void gru(const float *x, int n, float *h, int units, matrix k, matrix r, const float *b) {
    float zx[GATES], zh[GATES];
    for (int j = 0; j < 3 * units; j++) {
        zx[j] = b[j];
        zh[j] = b[3 * units + j];
    }
    matvec(zx, x, n, k, 3 * units);
    matvec(zh, h, units, r, 3 * units);
    for (int j = 0; j < units; j++) {
        float u = sigmoid(zx[j] + zh[j]), reset = sigmoid(zx[units + j] + zh[units + j]);
        float candidate = tanh_(zx[2 * units + j] + reset * zh[2 * units + j]);
        h[j] = u * h[j] + (1.0f - u) * candidate;
    }
}
"""

# z[0..m) += a[0..n) times w (n rows of m, Keras's layout). Eight outputs at a time, each summed
# over i in order, as a plain loop over i then j would: the same result to the bit, with the
# eight sums in registers (a Cortex-M4F: 54.0k instructions a sample instead of 88.5k) or two
# vectors (x86). The last m % 8 outputs one at a time.
MATVEC = {
    "float32": """\
static void matvec(float *z, const float *a, int n, matrix w, int m) {
    int j = 0;
    for (; j + 8 <= m; j += 8) {
        float s0 = z[j], s1 = z[j + 1], s2 = z[j + 2], s3 = z[j + 3], s4 = z[j + 4],
              s5 = z[j + 5], s6 = z[j + 6], s7 = z[j + 7];
        const float *col = w.values + j;
        for (int i = 0; i < n; i++, col += m) {
            const float ai = a[i];
            s0 += ai * col[0]; s1 += ai * col[1]; s2 += ai * col[2]; s3 += ai * col[3];
            s4 += ai * col[4]; s5 += ai * col[5]; s6 += ai * col[6]; s7 += ai * col[7];
        }
        z[j] = s0; z[j + 1] = s1; z[j + 2] = s2; z[j + 3] = s3;
        z[j + 4] = s4; z[j + 5] = s5; z[j + 6] = s6; z[j + 7] = s7;
    }
    for (; j < m; j++) {
        float s = z[j];
        for (int i = 0; i < n; i++) s += a[i] * w.values[(long)i * m + j];
        z[j] = s;
    }
}
""",
    # int8: a row at a time, so the conversions vectorize on x86 (eight at a time they did not:
    # 4.7 -> 9.3 us a sample); the M4F pays 115.8k instructions a sample for it, 76.8k blocked
    "int8": """\
static void matvec(float *z, const float *a, int n, matrix w, int m) {
    float acc[GATES];
    for (int j = 0; j < m; j++) acc[j] = 0.0f;
    for (int i = 0; i < n; i++) {
        const float ai = a[i];
        const signed char *row = w.values + (long)i * m;
        for (int j = 0; j < m; j++) acc[j] += ai * (float)row[j];
    }
    for (int j = 0; j < m; j++) z[j] += acc[j] * w.scale[w.per_column ? j : 0];
}
""",
}

WEIGHTS = {
    "float32": "float32 weights and arithmetic",
    "int8": "int8 weights with one scale per output column, float arithmetic",
}
