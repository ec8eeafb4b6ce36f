/* The generated C forecaster's per-sample cost without Python: `loop N < samples`.
 * Reads samples (one per line), pushes N of them through ef_push in turn (cycling), and prints
 * the median over 5 rounds of the nanoseconds per push, as JSON. Built by bench/native.py. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include "timing.h"

#include "forecaster.h"

#define ROUNDS 5
#define MAX_SAMPLES 100000

static float samples[MAX_SAMPLES];

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000, count = 0;
    double value, ns[ROUNDS], sink = 0;
    while (count < MAX_SAMPLES && scanf("%lf", &value) == 1) samples[count++] = (float)value;
    if (count == 0) return 2;
    for (int r = 0; r < ROUNDS; r++) {
        ef_stream s;
        float forecast[EF_HORIZON];
        ef_reset(&s);
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (ef_push(&s, samples[i % count], forecast)) sink += forecast[0];
        ns[r] = (now_ns() - t0) / n;
    }
    printf("{\"ns_per_sample\": %.1f, \"samples\": %ld, \"checksum\": %.6g}\n",
           median(ns, ROUNDS), n, sink);
    return 0;
}
