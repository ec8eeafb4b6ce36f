/* edge-forecaster: the layers of the integer-only source (int8 weights, int16 activations and
 * state, int32 sums, no float), included by the generated forecaster_integer.c after it defines:
 *   UNITS            the widest layer's units
 *   EF_LSTM, EF_GRU  1 for each kind of layer the model has
 * Fixed-point formats (bits after the binary point): the input and gate pre-activations Q12
 * (EFI_X_BITS), each layer's h Q15, an LSTM's c Q11. Right shifts of negative values are
 * arithmetic, as GCC, Clang and Arm's compilers make them. Everything here is static. */
#ifndef EF_INTEGER_H
#define EF_INTEGER_H

#include <stdint.h>

typedef struct {
    const int8_t *values; /* column after column */
    const int32_t *mult;  /* per column: its sum times mult >> shift is in Q12 */
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
static int32_t sigmoid(int32_t z) {
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
static int32_t tanh_(int32_t z) {
    if (z > 1 << 24) z = 1 << 24; /* far past saturation: keeps 2z within int32 */
    if (z < -(1 << 24)) z = -(1 << 24);
    return 2 * sigmoid(2 * z) - 32768;
}

/* Column j of w (n inputs) times a, in Q12: int32 sum, then the column's multiply and shift.
 * Column by column, so no buffer of sums: the stack stays small. Four products a turn. */
static int32_t column(qmatrix w, int j, const int16_t *a, int n) {
    const int8_t *col = w.values + (long)j * n;
    int32_t sum = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        sum += a[i] * col[i] + a[i + 1] * col[i + 1];
        sum += a[i + 2] * col[i + 2] + a[i + 3] * col[i + 3];
    }
    for (; i < n; i++) sum += a[i] * col[i];
    const int shift = w.shift[j];
    return (int32_t)(((int64_t)sum * w.mult[j] + ((int64_t)1 << (shift - 1))) >> shift);
}

#if EF_LSTM
/* One LSTM step (Keras's gates i, f, c, o): x is n wide (Q12 or Q15); h (Q15) and c (Q11) are
 * updated in place, unit by unit (the old h feeds every unit's gates: the new one waits). */
static void lstm(const int16_t *x, int n, int16_t *h, int16_t *c, int units, qmatrix k,
                 qmatrix r, const int32_t *b) {
    int16_t next[UNITS];
    for (int j = 0; j < units; j++) {
        int32_t z[4];
        for (int gate = 0; gate < 4; gate++) {
            const int col = gate * units + j;
            z[gate] = b[col] + column(k, col, x, n) + column(r, col, h, units);
        }
        int32_t i = sigmoid(z[0]), f = sigmoid(z[1]), g = tanh_(z[2]), o = sigmoid(z[3]);
        c[j] = saturate(((f * c[j] + (1 << 14)) >> 15) + ((i * g + (1 << 18)) >> 19));
        next[j] = saturate((o * tanh_(2 * (int32_t)c[j]) + (1 << 14)) >> 15);
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
        int32_t zx[3], zh[3];
        for (int gate = 0; gate < 3; gate++) {
            const int col = gate * units + j;
            zx[gate] = b[col] + column(k, col, x, n);
            zh[gate] = b[3 * units + col] + column(r, col, h, units);
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
    for (int i = 0; i < rows; i++) y[i] = efi_step(states + (long)i * EFI_STATE_SIZE, x[i]);
}

#endif /* EF_INTEGER_H */
