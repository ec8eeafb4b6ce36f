"""The anomaly score in C: what export/c.py puts in the header and the sources, the arithmetic of
runtime/anomaly.py in float (its constants from ScoreParams, the period from the manifest)."""

from __future__ import annotations

from runtime.anomaly import ScoreParams

from .c_text import float_literal


def defines(anomaly: dict) -> str:
    """The header's #defines: the threshold, the seasonal period and the score's constants."""
    p = ScoreParams()
    threshold_c = float_literal(anomaly["threshold"])
    period = int(anomaly.get("period", 0))
    lo, hi = anomaly.get("range", (0.0, 0.0))
    known = int("range" in anomaly)
    return f"""\
/* The anomaly score (runtime/anomaly.py): the tail probability of the short running mean of
 * |residual| / scale under its long running mean and variance, log-scaled to [0, 1] (and of the
 * distance from the seasonal profile, where the series has a period: the higher); 1 for a
 * sample past the range seen so far; 0 for a quiet period after a high score. */
#define EF_ANOMALY_THRESHOLD {threshold_c} /* a score from this on is an anomaly */
#define EF_SEASON_PERIOD {period} /* the series' period in samples (0: none) */
#define EF_SEASON_RATE {float_literal(p.season_rate)} /* the profile's step towards a sample */
#define EF_SCORE_SHORT {float_literal(p.short)} /* samples in the short mean */
#define EF_SCORE_LONG {float_literal(p.long)} /* samples of memory of the long mean and variance */
#define EF_SCORE_WARMUP {p.warmup} /* residuals before the first score above 0 */
#define EF_SCORE_FLOOR {float_literal(p.floor)} /* residual size (model units) never surprising */
#define EF_SCORE_LOG_RANGE {float_literal(p.log_range)} /* a tail of 10^-this scores 1 */
#define EF_SCORE_NOVELTY {float_literal(p.novelty)} /* past the range seen by this fraction: 1 */
#define EF_SCORE_QUIET {p.quiet} /* samples scoring 0 after a score of EF_SCORE_QUIET_FROM */
#define EF_SCORE_QUIET_FROM {float_literal(p.quiet_from)}
#define EF_SCORE_FATIGUE {float_literal(p.fatigue)} /* each alarm lowers later tail scores so */
#define EF_SCORE_FATIGUE_MEMORY {float_literal(p.fatigue_memory)} /* samples it fades over */
/* The samples' range in training: a new stream starts from it (a sample within it is no
 * novelty); 0: unknown, the range starts at the first sample. */
#define EF_TRAINED_RANGE {known}
#define EF_TRAINED_LO {float_literal(lo)}
#define EF_TRAINED_HI {float_literal(hi)}"""


TAIL_STRUCT = """\
typedef struct {
    float short_mean, mean, var; /* a size's short running mean, and its long mean and variance */
    long count;                 /* sizes seen */
} ef_tail;
"""

# ef_stream's score fields: residual and season (ef_tail), alarms, lo, hi, score, quiet, anomaly,
# and profile[EF_SEASON_PERIOD] where the series has a period
SCORE_FUNCTIONS = """\
static void score_reset(ef_stream *s) {
    s->alarms = s->lo = s->hi = s->score = 0.0f;
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
    if (v < 1.0f) v = fmaxf(0.0f, v - EF_SCORE_FATIGUE * s->alarms);
    float margin = EF_SCORE_NOVELTY * (s->hi - s->lo);
    if (EF_SCORE_NOVELTY >= 0 && (sample > s->hi + margin || sample < s->lo - margin)) v = 1.0f;
    if (s->residual.count <= EF_SCORE_WARMUP) return 0.0f;
    if (s->quiet > 0) {
        s->quiet--;
        return 0.0f;
    }
    if (v >= EF_SCORE_QUIET_FROM) {
        s->quiet = EF_SCORE_QUIET;
        s->alarms += 1.0f;
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
"""
