/* The compute floor of a forecast on this core: `floor ROWS COLUMNS PASSES`. One matrix-vector
 * product of ROWS x COLUMNS float weights per pass, the same number of multiply-adds as the model
 * takes a sample, by the generated sources' own product (export/csrc/ef_float.h), and nothing
 * else: no gates, no exponentials, no state. Prints the median over 5 rounds of the nanoseconds
 * per pass, as JSON. Built by bench/native.py with the C loop's flags. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include "timing.h"

#define ROUNDS 5

/* The generated sources' float32 product, the same kernel: eight outputs' sums in registers */
#define GATES 1
#define EF_INT8_WEIGHTS 0
#define EF_LSTM 0
#define EF_GRU 0
#include "ef_float.h"

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const int n = atoi(argv[1]), m = atoi(argv[2]);
    const long passes = atol(argv[3]);
    float *w = malloc(sizeof(float) * n * m), *a = malloc(sizeof(float) * n);
    float *z = malloc(sizeof(float) * m);
    double ns[ROUNDS], sink = 0;
    if (!w || !a || !z || n < 1 || m < 1) return 2;
    const matrix weights = {w, 0, 0};
    for (long k = 0; k < (long)n * m; k++) w[k] = (float)((k * 7919 % 1000) - 500) * 1e-4f;
    for (int i = 0; i < n; i++) a[i] = (float)(i % 17) * 0.05f;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (long p = 0; p < passes; p++) {
            a[p % n] = (float)(p & 15) * 0.05f; /* a new input each pass: nothing to hoist */
            for (int j = 0; j < m; j++) z[j] = 0.0f;
            matvec(z, a, n, weights, m);
            sink += z[p % m];
        }
        ns[r] = (now_ns() - t0) / passes;
    }
    printf("{\"ns_per_pass\": %.1f, \"passes\": %ld, \"checksum\": %.6g}\n",
           median(ns, ROUNDS), passes, sink);
    free(w), free(a), free(z);
    return 0;
}
