/* edge-forecaster: the stream around a model's step (ef_reset, ef_push, ef_window) and its anomaly
 * score (runtime/anomaly.py's arithmetic in float), included by the generated
 * forecaster_<precision>.c after its ef_step and these, in model units:
 *   CENTER, SCALE  the normalization: model input = (sample - CENTER) / SCALE
 *   OUT_SCALE, OUT_CENTER  the outputs': forecast = output * OUT_SCALE + OUT_CENTER (a change
 *                  model adds the last sample)
 *   LIMIT          |model input| past this is out of range (the training range and its margin)
 * The score's constants, the period and the trained range are in forecaster_model.h. */
#ifndef EF_STREAM_H
#define EF_STREAM_H

#include <math.h>

void ef_step_rows(int rows, float *states, const float *x, float *y) {
    for (int i = 0; i < rows; i++)
        ef_step(states + (long)i * EF_STATE_SIZE, x[i], y + (long)i * EF_HORIZON);
}

/* The model's outputs after the sample `last` -> the forecasts, data units */
static void decode(const float y[EF_HORIZON], float last, float forecast[EF_HORIZON]) {
    for (int h = 0; h < EF_HORIZON; h++)
#if EF_LEAD
        forecast[h] = y[h] * OUT_SCALE + OUT_CENTER + last;
#else
        forecast[h] = y[h] * OUT_SCALE + OUT_CENTER;
    (void)last;
#endif
}

/* ef_stream's score fields: residual and season (ef_tail), alarms, thirst, lo, hi, score, quiet,
 * anomaly, and profile[EF_SEASON_PERIOD] where the series has a period */
static void score_reset(ef_stream *s) {
    s->alarms = s->thirst = s->lo = s->hi = s->score = 0.0f;
#if EF_TRAINED_RANGE
    s->lo = EF_TRAINED_LO;
    s->hi = EF_TRAINED_HI;
#endif
    s->residual.short_mean = s->residual.mean = s->residual.var = 0.0f;
    s->season = s->residual;
    s->residual.count = s->season.count = s->quiet = 0;
    s->anomaly = 0;
#if EF_SEASON_PERIOD > 0
    for (int j = 0; j < EF_SEASON_PERIOD; j++) s->profile[j] = 0.0f;
#endif
}

/* How surprising a size is: the z-score of its short running mean (-inf while warming up). */
static float tail_z(ef_tail *t, float size) {
    if (size < EF_SCORE_FLOOR) size = EF_SCORE_FLOOR;
    t->count++;
    if (t->count == 1) t->short_mean = t->mean = size;
    t->short_mean += (size - t->short_mean) / EF_SCORE_SHORT;
    float var = t->var > EF_SCORE_FLOOR * EF_SCORE_FLOOR ? t->var : EF_SCORE_FLOOR * EF_SCORE_FLOOR;
    float z = (t->short_mean - t->mean) / sqrtf(var);
    float a = 1.0f / (t->count < EF_SCORE_LONG ? (float)t->count : EF_SCORE_LONG);
    float d = t->short_mean - t->mean;
    t->mean += a * d;
    t->var = (1.0f - a) * (t->var + a * d * d);
    return t->count <= EF_SCORE_WARMUP ? -INFINITY : z;
}

/* The score of a sample and its residual's size (model units), as runtime/anomaly.py does: the
 * log-scaled Gaussian tail of the higher z (the tail falls as z rises: one erfcf for both). */
static float score(ef_stream *s, float sample, float size) {
    float z = tail_z(&s->residual, size);
#if EF_SEASON_PERIOD > 0
    long seen = s->count - 1; /* samples before this one */
    if (seen >= EF_SEASON_PERIOD) {
        float u = tail_z(&s->season, fabsf(sample - s->profile[seen % EF_SEASON_PERIOD]) / SCALE);
        if (u > z) z = u;
    }
#endif
    float p = 0.5f * erfcf(z * 0.70710678f);
    float v = -log10f(p + powf(10.0f, -EF_SCORE_LOG_RANGE)) / EF_SCORE_LOG_RANGE;
    if (v > 1.0f) v = 1.0f;
    s->alarms *= 1.0f - 1.0f / EF_SCORE_FATIGUE_MEMORY;
    if (v < 1.0f)
        v = fmaxf(0.0f, fminf(1.0f, v - EF_SCORE_FATIGUE * s->alarms + EF_SCORE_THIRST * s->thirst));
    float margin = EF_SCORE_NOVELTY * (s->hi - s->lo);
    if (EF_SCORE_NOVELTY >= 0 && (sample > s->hi + margin || sample < s->lo - margin)) v = 1.0f;
    if (s->residual.count <= EF_SCORE_WARMUP) return 0.0f;
    if (s->quiet > 0) {
        s->quiet--;
        return 0.0f;
    }
    s->thirst += (1.0f - s->thirst) / EF_SCORE_THIRST_MEMORY;
    if (v >= EF_SCORE_QUIET_FROM) {
        s->quiet = EF_SCORE_QUIET;
        s->alarms += 1.0f;
        s->thirst = 0.0f;
    }
    return v;
}

/* The seasonal profile moves towards each sample pushed (the first period: set to it). */
static void profile_push(ef_stream *s, float sample) {
#if EF_SEASON_PERIOD > 0
    float *at = &s->profile[(s->count - 1) % EF_SEASON_PERIOD];
    *at += (s->count <= EF_SEASON_PERIOD ? 1.0f : EF_SEASON_RATE) * (sample - *at);
#else
    (void)s;
    (void)sample;
#endif
}

void ef_reset(ef_stream *s) {
    for (int j = 0; j < EF_STATE_SIZE; j++) s->state[j] = 0.0f;
    s->previous = s->forecast = 0.0f;
    s->count = 0;
    s->out_of_range = 0;
    score_reset(s);
}

int ef_push(ef_stream *s, float sample, float forecast[EF_HORIZON]) {
    s->count++;
    s->score = 0.0f;
    s->anomaly = 0;
    if (s->count > EF_HISTORY) { /* a forecast was made for this sample */
        s->score = score(s, sample, fabsf(sample - s->forecast) / SCALE);
        s->anomaly = s->score >= EF_ANOMALY_THRESHOLD;
    }
    int first = !EF_TRAINED_RANGE && s->count == 1; /* no range known: it starts here */
    if (first || sample < s->lo) s->lo = sample;
    if (first || sample > s->hi) s->hi = sample;
    profile_push(s, sample);
#if EF_LEAD /* a change model: its inputs are the steps between samples */
    if (s->count == 1) { /* the first input is the step from this sample to the next */
        s->previous = sample;
        s->out_of_range = 0;
        return 0;
    }
    float x = (sample - s->previous - CENTER) / SCALE;
#else
    float x = (sample - CENTER) / SCALE;
#endif
    s->previous = sample;
    s->out_of_range = fabsf(x) > LIMIT;
    float y[EF_HORIZON];
    ef_step(s->state, x, y);
    if (s->count < EF_HISTORY) return 0;
    decode(y, sample, forecast);
    s->forecast = forecast[0];
    return 1;
}

void ef_window(const float samples[EF_HISTORY], float forecast[EF_HORIZON]) {
    float state[EF_STATE_SIZE] = {0}, y[EF_HORIZON];
    for (int t = 0; t < EF_WINDOW; t++)
#if EF_LEAD
        ef_step(state, (samples[t + 1] - samples[t] - CENTER) / SCALE, y);
#else
        ef_step(state, (samples[t] - CENTER) / SCALE, y);
#endif
    decode(y, samples[EF_HISTORY - 1], forecast);
}

#endif /* EF_STREAM_H */
