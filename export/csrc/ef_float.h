/* edge-forecaster: the layers of the float32 and int8 sources (one LSTM or GRU step, the matrix
 * product, e^x), included by the generated forecaster_<precision>.c after it defines:
 *   GATES            the most outputs of a matrix product: the widest layer's gate
 *                    pre-activations (4 or 3 times its units), or the head's if more
 *   EF_INT8_WEIGHTS  1: matrices of int8 with a float scale per column (or one), float arithmetic
 *   EF_LSTM, EF_GRU  1 for each kind of layer the model has
 * Everything here is static: each source gets its own copy, nothing is exported. */
#ifndef EF_FLOAT_H
#define EF_FLOAT_H

#include <math.h>
#include <string.h>

typedef struct {
#if EF_INT8_WEIGHTS
    const signed char *values;
    const float *scale; /* per column, or one for the whole matrix */
#else
    const float *values;
    const float *scale; /* unused */
#endif
    int per_column;
} matrix;

/* e^x for x in [-87, 88]: 2^(x log2 e), the integer part into the exponent bits, the rest by a
 * degree-5 polynomial fitted to 2^f on [-1/2, 1/2], relative error 1.9e-7 in float. */
static inline float exp_in_range(float x) {
    float t = x * 1.44269504f, n = t + 12582912.0f; /* 1.5 * 2^23: t rounded, in the low bits */
    float f = t - (n - 12582912.0f), scale;
    float p = 1.32647261e-3f;
    p = p * f + 9.67151299e-3f;
    p = p * f + 5.55073358e-2f;
    p = p * f + 2.40222424e-1f;
    p = p * f + 6.93147004e-1f;
    p = p * f + 1.0f;
    unsigned bits;
    memcpy(&bits, &n, 4);
    bits = (bits + 127u) << 23; /* 2^round(t): the rest of n's bits shift out */
    memcpy(&scale, &bits, 4);
    return p * scale;
}

/* e^x one at a time. On a Cortex-M4F/M7 newlib's expf costs about 35 instructions and a call,
 * the polynomial about 20, inlined; elsewhere the C library's (glibc's was the faster here). */
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
static inline float exp_(float x) {
    return exp_in_range(x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x);
}
#define EF_LANES 0 /* no vector unit: a step's gates unit by unit, one pass */
#define exp_lanes exp_
#else
#define EF_LANES 1 /* a step's gates gate by gate, loops a compiler vectorizes */
#define exp_ expf

/* when ? a : b, without a branch */
static inline float pick(int when, float a, float b) {
    unsigned ua, ub, mask = 0u - (unsigned)when;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    ua = (ua & mask) | (ub & ~mask);
    memcpy(&a, &ua, 4);
    return a;
}

/* e^x in a loop over many x: clamped without a branch, so that the compiler vectorizes the loop
 * (four lanes with SSE2 or NEON; glibc's expf, a call, stops it). */
static inline float exp_lanes(float x) {
    x = pick(x < -87.0f, -87.0f, x);
    return exp_in_range(pick(x > 88.0f, 88.0f, x));
}
#endif

/* From exp alone: tanh(x) = 2 / (1 + e^-2x) - 1 took half the time of tanhf here. */
static inline float sigmoid(float x) { return 1.0f / (1.0f + exp_(-x)); }
static inline float tanh_(float x) { return 2.0f / (1.0f + exp_(-2.0f * x)) - 1.0f; }

#if EF_INT8_WEIGHTS
/* z[0..m) += a[0..n) times w (n rows of m, Keras's layout, int8 times the column's scale). A row
 * at a time, so the conversions vectorize on x86 (eight at a time they did not: 4.7 -> 9.3 us a
 * sample). */
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
#else
/* z[0..m) += a[0..n) times w (n rows of m, Keras's layout). Eight outputs at a time, each summed
 * over i in order, as a plain loop over i then j would: the same result to the bit, with the
 * eight sums in registers (a Cortex-M4F: 54.0k instructions a sample instead of 88.5k) or two
 * vectors (x86). The last m % 8 outputs one at a time.
 * On a Cortex-M4F/M7 (ARMv7E-M with an FPU) the eight sums in assembly, two rows a turn: a load
 * of eight weights (vldmia) and eight fused multiply-adds a row, 23 instructions for 16 products
 * against GCC's 56 (a load, a multiply and an add each: ISO C does not let it fuse them). Fused,
 * each product is rounded once, not twice: within float32's bound of the C loop, not equal to
 * it to the bit. */
static void matvec(float *z, const float *a, int n, matrix w, int m) {
    int j = 0;
    for (; j + 8 <= m; j += 8) {
        const float *col = w.values + j;
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
        const float *ai = a;
        int i = n;
        __asm__ __volatile__(
            "vldmia %[z], {s0-s7}\n\t"
            "subs %[i], %[i], #2\n\t"
            "blt 2f\n"
            "1:\n\t" /* two rows */
            "vldmia %[ai]!, {s16-s17}\n\t"
            "vldmia %[col], {s8-s15}\n\t"
            "add %[col], %[col], %[row]\n\t"
            "vfma.f32 s0, s16, s8\n\tvfma.f32 s1, s16, s9\n\t"
            "vfma.f32 s2, s16, s10\n\tvfma.f32 s3, s16, s11\n\t"
            "vfma.f32 s4, s16, s12\n\tvfma.f32 s5, s16, s13\n\t"
            "vfma.f32 s6, s16, s14\n\tvfma.f32 s7, s16, s15\n\t"
            "vldmia %[col], {s8-s15}\n\t"
            "add %[col], %[col], %[row]\n\t"
            "vfma.f32 s0, s17, s8\n\tvfma.f32 s1, s17, s9\n\t"
            "vfma.f32 s2, s17, s10\n\tvfma.f32 s3, s17, s11\n\t"
            "vfma.f32 s4, s17, s12\n\tvfma.f32 s5, s17, s13\n\t"
            "vfma.f32 s6, s17, s14\n\tvfma.f32 s7, s17, s15\n\t"
            "subs %[i], %[i], #2\n\t"
            "bge 1b\n"
            "2:\n\t" /* an odd row last */
            "adds %[i], %[i], #2\n\t"
            "beq 3f\n\t"
            "vldmia %[ai]!, {s16}\n\t"
            "vldmia %[col], {s8-s15}\n\t"
            "vfma.f32 s0, s16, s8\n\tvfma.f32 s1, s16, s9\n\t"
            "vfma.f32 s2, s16, s10\n\tvfma.f32 s3, s16, s11\n\t"
            "vfma.f32 s4, s16, s12\n\tvfma.f32 s5, s16, s13\n\t"
            "vfma.f32 s6, s16, s14\n\tvfma.f32 s7, s16, s15\n"
            "3:\n\t"
            "vstmia %[z], {s0-s7}\n"
            : [ai] "+r"(ai), [col] "+r"(col), [i] "+r"(i)
            : [z] "r"(z + j), [row] "r"(m * 4)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12",
              "s13", "s14", "s15", "s16", "s17", "memory", "cc");
#else
        float s0 = z[j], s1 = z[j + 1], s2 = z[j + 2], s3 = z[j + 3], s4 = z[j + 4],
              s5 = z[j + 5], s6 = z[j + 6], s7 = z[j + 7];
        for (int i = 0; i < n; i++, col += m) {
            const float ai = a[i];
            s0 += ai * col[0]; s1 += ai * col[1]; s2 += ai * col[2]; s3 += ai * col[3];
            s4 += ai * col[4]; s5 += ai * col[5]; s6 += ai * col[6]; s7 += ai * col[7];
        }
        z[j] = s0; z[j + 1] = s1; z[j + 2] = s2; z[j + 3] = s3;
        z[j + 4] = s4; z[j + 5] = s5; z[j + 6] = s6; z[j + 7] = s7;
#endif
    }
    for (; j < m; j++) {
        float s = z[j];
        for (int i = 0; i < n; i++) s += a[i] * w.values[(long)i * m + j];
        z[j] = s;
    }
}
#endif

#if EF_LSTM
/* An LSTM unit's new c (updated in place) and h from its gates' sigmoids: i, f, o, and s of twice
 * the cell input (tanh(v) = 2 sigmoid(2v) - 1). */
static inline float lstm_cell(float i, float f, float s, float o, float *c) {
    *c = f * *c + i * (2.0f * s - 1.0f);
    return o * (2.0f / (1.0f + exp_lanes(-2.0f * *c)) - 1.0f);
}

/* One LSTM step (Keras's gates i, f, c, o): x is n wide; h and c are updated in place. */
static void lstm(const float *x, int n, float *h, float *c, int units, matrix k, matrix r,
                 const float *b) {
    float z[GATES];
    for (int j = 0; j < 4 * units; j++) z[j] = b[j];
    matvec(z, x, n, k, 4 * units);
    matvec(z, h, units, r, 4 * units);
#if EF_LANES
    for (int j = 2 * units; j < 3 * units; j++) z[j] *= 2.0f;
    for (int j = 0; j < 4 * units; j++) z[j] = 1.0f / (1.0f + exp_lanes(-z[j]));
    for (int j = 0; j < units; j++)
        h[j] = lstm_cell(z[j], z[units + j], z[2 * units + j], z[3 * units + j], &c[j]);
#else
    for (int j = 0; j < units; j++) {
        float i = sigmoid(z[j]), f = sigmoid(z[units + j]);
        float s = sigmoid(2.0f * z[2 * units + j]), o = sigmoid(z[3 * units + j]);
        h[j] = lstm_cell(i, f, s, o, &c[j]);
    }
#endif
}
#endif

#if EF_GRU
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
#endif

#endif /* EF_FLOAT_H */
