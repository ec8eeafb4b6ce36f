/* edge-forecaster: the layers of the integer-only source (int8 weights, int16 activations and
 * state, int32 sums, no float), included by the generated forecaster_integer.c after it defines:
 *   UNITS            the widest layer's units
 *   EF_LSTM_FIRST    1 if the first layer is an LSTM (its one input folded into its sums)
 *   EF_LSTM, EF_GRU  1 if the model has an LSTM above another layer, a GRU
 * Fixed-point formats (bits after the binary point): the input and gate pre-activations Q12
 * (EFI_X_BITS), each layer's h Q15, an LSTM's c Q11. Right shifts of negative values are
 * arithmetic, as GCC, Clang and Arm's compilers make them. Everything here is static. */
#ifndef EF_INTEGER_H
#define EF_INTEGER_H

#include <stdint.h>

/* Cores with the DSP extension (Cortex-M4, M7, M33...) multiply two int16 pairs at once (SMLAD).
 * There the weights are stored widened to int16, twice the flash, so that a pair is one load and
 * needs no widening: 13% fewer instructions a sample on the Cortex-M4 than widening int8 pairs
 * with SXTB16 as CMSIS-NN does (docs/mcu.md). EF_NO_DSP keeps int8 weights and portable loops. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(EF_NO_DSP)
#define EF_DSP 1
#include <arm_acle.h>
#include <string.h>
typedef int16_t ef_weight; /* an int8 value */
#else
#define EF_DSP 0
typedef int8_t ef_weight;
#endif

typedef struct {
    const ef_weight *values; /* unit after unit (export/c_integer.py, interleaved) */
    const int32_t *mult;     /* per column: its sum times mult >> shift is in Q12 */
    const uint8_t *shift;
} qmatrix;

static const int16_t SIGMOID[257] = { /* sigmoid(k / 16) in Q15, k = 0..256 */
    16384, 16896, 17407, 17916, 18421, 18923, 19420, 19912, 20397, 20874, 21344, 21804,
    22255, 22696, 23127, 23547, 23955, 24352, 24737, 25110, 25471, 25819, 26155, 26479,
    26790, 27090, 27377, 27653, 27917, 28169, 28411, 28642, 28862, 29072, 29272, 29462,
    29644, 29816, 29979, 30135, 30282, 30422, 30555, 30680, 30799, 30912, 31018, 31119,
    31214, 31304, 31389, 31469, 31545, 31616, 31684, 31747, 31807, 31864, 31917, 31968,
    32015, 32060, 32102, 32141, 32179, 32214, 32247, 32278, 32307, 32335, 32361, 32385,
    32408, 32430, 32450, 32469, 32487, 32504, 32520, 32535, 32549, 32562, 32574, 32586,
    32597, 32607, 32617, 32626, 32635, 32643, 32650, 32657, 32664, 32670, 32676, 32682,
    32687, 32692, 32696, 32701, 32705, 32709, 32712, 32716, 32719, 32722, 32725, 32727,
    32730, 32732, 32734, 32736, 32738, 32740, 32742, 32743, 32745, 32746, 32747, 32749,
    32750, 32751, 32752, 32753, 32754, 32755, 32756, 32756, 32757, 32758, 32758, 32759,
    32759, 32760, 32760, 32761, 32761, 32762, 32762, 32762, 32763, 32763, 32763, 32764,
    32764, 32764, 32764, 32765, 32765, 32765, 32765, 32765, 32766, 32766, 32766, 32766,
    32766, 32766, 32766, 32766, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767,
};

static int16_t saturate(int32_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }

/* sigmoid of a Q12 value, in Q15: the table, interpolated; 1 - sigmoid(-z) below zero */
static inline int32_t sigmoid(int32_t z) {
    int32_t a = z < 0 ? -z : z, v;
    if (a >= 16 << EFI_X_BITS) {
        v = 32767;
    } else {
        int32_t k = a >> 8, f = a & 255; /* the table's step: 2^-4 = 256 in Q12 */
        v = SIGMOID[k] + (((SIGMOID[k + 1] - SIGMOID[k]) * f + 128) >> 8);
    }
    return z < 0 ? 32768 - v : v;
}

/* tanh of a Q12 value, in Q15 */
static inline int32_t tanh_(int32_t z) {
    if (z > 1 << 24) z = 1 << 24; /* far past saturation: keeps 2z within int32 */
    if (z < -(1 << 24)) z = -(1 << 24);
    return 2 * sigmoid(2 * z) - 32768;
}

/* A column's int32 sum in Q12: (sum * mult + 2^(shift - 1)) >> shift, rounded. With shift >= 33
 * (export/c_integer.py makes sure) that is the product's high word (SMMUL on a Cortex-M3/M4)
 * shifted by shift - 33, plus one, halved: the same to the bit, in three instructions. */
static int32_t requantize(int32_t sum, qmatrix w, int j) {
    const int32_t high = (int32_t)(((int64_t)sum * w.mult[j]) >> 32);
    return ((high >> (w.shift[j] - 33)) + 1) >> 1;
}

#if EF_DSP
/* gates() for an LSTM's four on a DSP core: a pair of weights and a pair of inputs are a word
 * each, one SMLAD multiplies and adds both; the four sums stay in registers. */
static void gates4(qmatrix w, int j, int units, const int16_t *a, int n, int32_t *out) {
    const ef_weight *p = w.values + (long)j * 4 * n;
    int32_t s0 = out[0], s1 = out[1], s2 = out[2], s3 = out[3];
    int i = 0;
    for (; i + 4 <= n; i += 4, p += 16) {
        int32_t a01, a23, q0, q1, q2, q3, q4, q5, q6, q7; /* separate loads: no copy on the stack */
        memcpy(&a01, a + i, 4);
        memcpy(&a23, a + i + 2, 4);
        memcpy(&q0, p, 4);
        memcpy(&q1, p + 2, 4);
        memcpy(&q2, p + 4, 4);
        memcpy(&q3, p + 6, 4);
        memcpy(&q4, p + 8, 4);
        memcpy(&q5, p + 10, 4);
        memcpy(&q6, p + 12, 4);
        memcpy(&q7, p + 14, 4);
        s0 = __smlad(q1, a23, __smlad(q0, a01, s0));
        s1 = __smlad(q3, a23, __smlad(q2, a01, s1));
        s2 = __smlad(q5, a23, __smlad(q4, a01, s2));
        s3 = __smlad(q7, a23, __smlad(q6, a01, s3));
    }
    const int rest = n - i; /* the last rows, gate after gate */
    for (int t = 0; t < rest; t++) {
        const int32_t x = a[i + t];
        s0 += x * p[t];
        s1 += x * p[rest + t];
        s2 += x * p[2 * rest + t];
        s3 += x * p[3 * rest + t];
    }
    out[0] = requantize(s0, w, j);
    out[1] = requantize(s1, w, units + j);
    out[2] = requantize(s2, w, 2 * units + j);
    out[3] = requantize(s3, w, 3 * units + j);
}
#endif

/* Unit j's gate columns (count: 4 for an LSTM, 3 for a GRU, 1 the dense head) of w times a (n
 * inputs): out[g] is column g * units + j, on entry the column's sum so far (0, or a first
 * layer's bias and input: lstm_first), on return in Q12. The generator stores a unit's weights
 * together, four rows at a time with its gates' columns side by side; then the last n % 4 rows,
 * gate after gate (export/c_integer.py, interleaved). One pass over the unit's weights, in
 * order. The sums are exact integers: the same to the bit on the DSP path. */
static void gates(qmatrix w, int j, int units, int count, const int16_t *a, int n, int32_t *out) {
    if (n == 1) { /* a first layer's one input: a product per gate, its weights side by side */
        const ef_weight *p = w.values + (long)j * count;
        for (int g = 0; g < count; g++)
            out[g] = requantize(out[g] + a[0] * p[g], w, g * units + j);
        return;
    }
#if EF_DSP
    if (count == 4) {
        gates4(w, j, units, a, n, out);
        return;
    }
#endif
    const ef_weight *unit = w.values + (long)j * count * n;
    const int full = n / 4 * 4, rest = n - full;
    for (int g = 0; g < count; g++) { /* a column at a time: one sum, as few registers as that */
        const ef_weight *p = unit + 4 * g, *tail = unit + (long)count * full + g * rest;
        int32_t sum = out[g];
        for (int i = 0; i < full; i += 4, p += 4 * count) {
            sum += a[i] * p[0];
            sum += a[i + 1] * p[1];
            sum += a[i + 2] * p[2];
            sum += a[i + 3] * p[3];
        }
        for (int t = 0; t < rest; t++) sum += a[full + t] * tail[t];
        out[g] = requantize(sum, w, g * units + j);
    }
}

#if EF_LSTM || EF_LSTM_FIRST
/* The cell of an LSTM unit (Keras's gates i, f, c, o) from its gates' pre-activations z (Q12):
 * c (Q11) updated in place, the new h (Q15) returned. */
static inline int16_t lstm_cell(const int32_t *z, int16_t *c) {
    int32_t i = sigmoid(z[0]), f = sigmoid(z[1]), g = tanh_(z[2]), o = sigmoid(z[3]);
    *c = saturate(((f * *c + (1 << 14)) >> 15) + ((i * g + (1 << 18)) >> 19));
    return saturate((o * tanh_(2 * (int32_t)*c) + (1 << 14)) >> 15);
}
#endif

#if EF_LSTM
/* One step of an LSTM above another layer: x is its h (n wide, Q15); h (Q15) and c (Q11) are
 * updated in place, unit by unit (the old h feeds every unit's gates: the new one waits). */
static void lstm(const int16_t *x, int n, int16_t *h, int16_t *c, int units, qmatrix k,
                 qmatrix r, const int32_t *b) {
    int16_t next[UNITS];
    for (int j = 0; j < units; j++) {
        int32_t z[4] = {0, 0, 0, 0}, zh[4] = {0, 0, 0, 0};
        gates(k, j, units, 4, x, n, z);
        gates(r, j, units, 4, h, units, zh);
        for (int gate = 0; gate < 4; gate++) z[gate] += b[gate * units + j] + zh[gate];
        next[j] = lstm_cell(z, &c[j]);
    }
    for (int j = 0; j < units; j++) h[j] = next[j];
}
#endif

#if EF_LSTM_FIRST
/* One step of a first LSTM layer, its one input x (Q12): a column's sum starts at its bias plus
 * x times its input weight, both int32 in the units of the recurrent sum (export/c_integer.py,
 * first_lstm), so one requantization brings the three to Q12. */
static void lstm_first(int16_t x, int16_t *h, int16_t *c, int units, const int32_t *xw,
                       qmatrix r, const int32_t *b) {
    int16_t next[UNITS];
    for (int j = 0; j < units; j++) {
        const int32_t *bj = b + j, *xj = xw + j; /* unit j's columns, units apart */
        int32_t z[4] = {bj[0] + x * xj[0], bj[units] + x * xj[units],
                        bj[2 * units] + x * xj[2 * units], bj[3 * units] + x * xj[3 * units]};
        gates(r, j, units, 4, h, units, z);
        next[j] = lstm_cell(z, &c[j]);
    }
    for (int j = 0; j < units; j++) h[j] = next[j];
}
#endif

#if EF_GRU
/* One GRU step (Keras's gates z, r, h, reset after the product): h (Q15) is updated in place,
 * after every unit's gates are made from the old one. */
static void gru(const int16_t *x, int n, int16_t *h, int units, qmatrix k, qmatrix r,
                const int32_t *b) {
    int16_t next[UNITS];
    for (int j = 0; j < units; j++) {
        int32_t zx[3] = {0, 0, 0}, zh[3] = {0, 0, 0};
        gates(k, j, units, 3, x, n, zx);
        gates(r, j, units, 3, h, units, zh);
        for (int gate = 0; gate < 3; gate++) {
            zx[gate] += b[gate * units + j];
            zh[gate] += b[3 * units + gate * units + j];
        }
        int32_t u = sigmoid(zx[0] + zh[0]), reset = sigmoid(zx[1] + zh[1]);
        int32_t gated = (int32_t)(((int64_t)reset * zh[2] + (1 << 14)) >> 15);
        int32_t candidate = tanh_(zx[2] + gated);
        next[j] = saturate((u * h[j] + (32768 - u) * candidate + (1 << 14)) >> 15);
    }
    for (int j = 0; j < units; j++) h[j] = next[j];
}
#endif

void efi_step_rows(int rows, int16_t *states, const int16_t *x, int16_t *y) {
    for (int i = 0; i < rows; i++)
        efi_step(states + (long)i * EFI_STATE_SIZE, x[i], y + (long)i * EFI_HORIZON);
}

#endif /* EF_INTEGER_H */
