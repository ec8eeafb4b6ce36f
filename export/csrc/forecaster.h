/* edge-forecaster: a recurrent forecaster and its anomaly score in C99, for the float32 and int8
 * sources. Add this folder's forecaster.h, ef_float.h, ef_stream.h, the model's generated
 * forecaster_model.h and ONE of forecaster_float32.c (float weights) or forecaster_int8.c (int8
 * weights, float arithmetic) to your project, and link -lm. No allocation, no mutable globals:
 * the caller owns an `ef_stream` (its size fixed at compile time by the model's header). */
#ifndef EDGE_FORECASTER_H
#define EDGE_FORECASTER_H

#include "forecaster_model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EF_HISTORY (EF_WINDOW + EF_LEAD) /* samples in a window, and before ef_push forecasts */

typedef struct {
    float short_mean, mean, var; /* a size's short running mean, and its long mean and variance */
    long count;                 /* sizes seen */
} ef_tail;

typedef struct {
    float state[EF_STATE_SIZE]; /* the recurrent state */
    float previous;             /* the last sample (a change model's next input is a step) */
    float forecast;             /* the next sample's forecast: its residual is against it */
    ef_tail residual, season;   /* the anomaly score's running values */
    float alarms;               /* recent alarms, fading: the score's fatigue */
    float thirst;               /* 0 after an alarm, towards 1 without one: the score's thirst */
    float lo, hi;               /* the range of the samples pushed */
    float score;                /* the last sample's anomaly score, 0 to 1 (0 before a forecast) */
    long count;                 /* samples pushed since ef_reset */
    long quiet;                 /* samples left in the quiet period */
    int anomaly;                /* the last sample's score reached EF_ANOMALY_THRESHOLD */
    int out_of_range;           /* the last input lay past the training range and its margin */
#if EF_SEASON_PERIOD > 0
    float profile[EF_SEASON_PERIOD]; /* per phase of the period: the samples' running mean */
#endif
} ef_stream;

/* Start a stream over: zero state, nothing pushed. */
void ef_reset(ef_stream *s);

/* Push one sample (data units). Once EF_HISTORY samples are in, writes the forecasts of the next
 * EF_HORIZON samples to forecast[0 .. EF_HORIZON) and returns 1; before that returns 0. Sets
 * s->score and s->anomaly for the sample (against the forecast of it made one sample before) and
 * s->out_of_range. */
int ef_push(ef_stream *s, float sample, float forecast[EF_HORIZON]);

/* The forecasts of the EF_HORIZON samples after `samples` (EF_HISTORY of them, data units, oldest
 * first), run from a zero state: what ef_push writes after exactly those samples. */
void ef_window(const float samples[EF_HISTORY], float forecast[EF_HORIZON]);

/* Model units, for bindings and tests: one step from `state` (updated in place) with input x;
 * writes the model's EF_HORIZON outputs to y. ef_step_rows does `rows` independent states at
 * once (y: rows x EF_HORIZON). */
void ef_step(float state[EF_STATE_SIZE], float x, float y[EF_HORIZON]);
void ef_step_rows(int rows, float *states, const float *x, float *y);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_FORECASTER_H */
