"""Anomaly thresholds from validation residuals: a robust k-sigma rule."""

from __future__ import annotations

import numpy as np

# |sample - forecast| above this many robust standard deviations of the validation residuals is an
# anomaly. The median absolute deviation ignores the spikes a validation stream may contain.
THRESHOLD_SIGMAS = 6.0
MAD_TO_SIGMA = 1.4826  # for Gaussian residuals, sigma = 1.4826 * MAD


def threshold_from_residuals(residuals: np.ndarray) -> float:
    """The anomaly threshold (data units) for residuals measured on validation data."""
    r = np.asarray(residuals, dtype=np.float64)
    mad = np.median(np.abs(r - np.median(r)))
    return float(THRESHOLD_SIGMAS * MAD_TO_SIGMA * mad)
