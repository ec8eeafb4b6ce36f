/* Timing for bench's C programs (loop.c, floor.c): a monotonic clock and the median of rounds. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

#include <time.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* The median of n values (sorts them in place: insertion sort, n is small). */
static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

#endif /* BENCH_TIMING_H */
