/* Stream samples through the generated C forecaster: one number per line on stdin, and per
 * sample the columns of `python -m runtime stream`: index,value,prediction (made for this
 * sample),residual,score,anomaly,out_of_range,forecast (of the next; a model of EF_HORIZON
 * samples ahead adds forecast_2 .. forecast_<EF_HORIZON>). A line that is not a number is
 * reported on stderr and skipped.
 *
 * Build it beside the two generated files (make c-demo does):
 *   cc -std=c99 -O3 -I artifacts/c examples/c/stream.c artifacts/c/forecaster_float32.c -lm
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "forecaster.h"

/* The number on a line, or 0 when it holds anything else. */
static int parse(const char *line, double *value) {
    char *end;
    *value = strtod(line, &end);
    if (end == line) return 0;
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    return *end == '\0' && isfinite(*value);
}

int main(void) {
    ef_stream stream; /* the whole state: EF_STATE_SIZE floats, the score's and counters */
    char line[512];
    long lineno = 0, read = 0, predicted = 0, skipped = 0, anomalies = 0, outside = 0;
    float forecast[EF_HORIZON] = {0}, last_forecast = 0.0f;
    int has_last = 0;

    ef_reset(&stream);
    fputs("index,value,prediction,residual,score,anomaly,out_of_range,forecast", stdout);
    for (int h = 2; h <= EF_HORIZON; h++) printf(",forecast_%d", h);
    putchar('\n');
    while (fgets(line, sizeof line, stdin)) {
        double value;
        lineno++;
        if (!parse(line, &value)) {
            fprintf(stderr, "warning: line %ld: not a number; skipped\n", lineno);
            skipped++;
            continue;
        }
        int has_forecast = ef_push(&stream, (float)value, forecast);
        printf("%ld,%.17g,", read, value);
        if (has_last) /* the forecast made for this sample, the residual, the score */
            printf("%.6g,%.6g,%.6f", last_forecast, value - last_forecast, stream.score);
        else
            printf(",,");
        printf(",%d,%d,", stream.anomaly, stream.out_of_range);
        for (int h = 0; h < EF_HORIZON; h++) { /* the next sample's forecast, and beyond */
            if (h) putchar(',');
            if (has_forecast) printf("%.6g", forecast[h]);
        }
        putchar('\n');
        read++;
        predicted += has_forecast;
        anomalies += stream.anomaly;
        outside += stream.out_of_range;
        has_last = has_forecast;
        last_forecast = forecast[0];
    }
    fprintf(stderr,
            "summary: %ld samples read, %ld predicted, %ld skipped, %ld anomalies, "
            "%ld out of range (C, %d bytes of state)\n",
            read, predicted, skipped, anomalies, outside, (int)sizeof stream);
    return read == 0 && skipped > 0 ? 2 : 0;
}
