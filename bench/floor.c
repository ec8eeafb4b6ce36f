/* The compute floor of a forecast on this core: `floor ROWS COLUMNS PASSES`. One matrix-vector
 * product of ROWS x COLUMNS float weights per pass, the same number of multiply-adds as the model
 * takes a sample, each output summed over the rows in order as the generated C does, and nothing
 * else: no gates, no exponentials, no state. Prints the median over 5 rounds of the nanoseconds
 * per pass, as JSON. Built by bench/native.py with the C loop's flags. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 5

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* z = a times w (n rows of m): eight outputs at a time, their sums in registers over every row
 * (the generated C's float32 product, the fastest form measured here), the rest one at a time */
static void matvec(float *z, const float *a, const float *w, int n, int m) {
    int j = 0;
    for (; j + 8 <= m; j += 8) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        const float *col = w + j;
        for (int i = 0; i < n; i++, col += m) {
            const float ai = a[i];
            s0 += ai * col[0]; s1 += ai * col[1]; s2 += ai * col[2]; s3 += ai * col[3];
            s4 += ai * col[4]; s5 += ai * col[5]; s6 += ai * col[6]; s7 += ai * col[7];
        }
        z[j] = s0; z[j + 1] = s1; z[j + 2] = s2; z[j + 3] = s3;
        z[j + 4] = s4; z[j + 5] = s5; z[j + 6] = s6; z[j + 7] = s7;
    }
    for (; j < m; j++) {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[i] * w[(long)i * m + j];
        z[j] = s;
    }
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const int n = atoi(argv[1]), m = atoi(argv[2]);
    const long passes = atol(argv[3]);
    float *w = malloc(sizeof(float) * n * m), *a = malloc(sizeof(float) * n);
    float *z = malloc(sizeof(float) * m);
    double ns[ROUNDS], sink = 0;
    if (!w || !a || !z || n < 1 || m < 1) return 2;
    for (long k = 0; k < (long)n * m; k++) w[k] = (float)((k * 7919 % 1000) - 500) * 1e-4f;
    for (int i = 0; i < n; i++) a[i] = (float)(i % 17) * 0.05f;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (long p = 0; p < passes; p++) {
            a[p % n] = (float)(p & 15) * 0.05f; /* a new input each pass: nothing to hoist */
            matvec(z, a, w, n, m);
            sink += z[p % m];
        }
        ns[r] = (now_ns() - t0) / passes;
    }
    for (int i = 1; i < ROUNDS; i++) /* insertion sort: the median of five */
        for (int j = i; j > 0 && ns[j] < ns[j - 1]; j--) {
            double t = ns[j];
            ns[j] = ns[j - 1];
            ns[j - 1] = t;
        }
    printf("{\"ns_per_pass\": %.1f, \"passes\": %ld, \"checksum\": %.6g}\n", ns[ROUNDS / 2], passes,
           sink);
    free(w), free(a), free(z);
    return 0;
}
