"""The anomaly score's constants in C, for the model's header (export/c.py): runtime/anomaly.py's
ScoreParams, the period and the trained range from the manifest. Its arithmetic is the fixed
csrc/ef_stream.h."""

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
#define EF_SCORE_THIRST {float_literal(p.thirst)} /* time without alarm raises them up to so */
#define EF_SCORE_THIRST_MEMORY {float_literal(p.thirst_memory)} /* samples it grows back over */
/* The samples' range in training: a new stream starts from it (a sample within it is no
 * novelty); 0: unknown, the range starts at the first sample. */
#define EF_TRAINED_RANGE {known}
#define EF_TRAINED_LO {float_literal(lo)}
#define EF_TRAINED_HI {float_literal(hi)}"""
