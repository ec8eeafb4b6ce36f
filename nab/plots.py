"""What a person looks at: a NAB file with its forecast, score, windows and flags; a category."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.plots import plt, save_figure

from .corpus import Series, probation_rows, timestamps
from .detect import Detection


def _windows(ax: plt.Axes, times: np.ndarray, series: Series) -> None:
    for start, end in series.windows:
        lo, hi = timestamps([start, end])
        ax.axvspan(lo, hi, color="tab:red", alpha=0.12, linewidth=0)


def plot_series(
    path: Path,
    series: Series,
    times: np.ndarray,
    values: np.ndarray,
    d: Detection,
    threshold: float,
    title: str,
) -> None:
    """Values and forecast above, the score below; detections (score >= threshold) marked,
    labelled windows shaded."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(13, 6), sharex=True, height_ratios=(2, 1))
    ax1.plot(times, values, color="black", linewidth=0.8, label="value")
    ax1.plot(times, d.prediction, color="tab:blue", linewidth=0.8, alpha=0.8, label="forecast")
    flagged = d.score >= threshold
    ax1.scatter(times[flagged], values[flagged], color="tab:red", s=14, zorder=3, label="flag")
    ax2.plot(times, d.score, color="tab:purple", linewidth=0.8, label="score")
    ax2.axhline(threshold, color="tab:red", linewidth=0.6, linestyle="--")
    probation = probation_rows(len(times))
    for ax in (ax1, ax2):
        _windows(ax, times, series)
        ax.axvspan(times[0], times[probation], color="grey", alpha=0.12, linewidth=0)
    ax1.set(title=title, ylabel="value")
    ax2.set(
        ylabel="score", ylim=(-0.02, 1.02), xlabel="grey: trained on, not scored; red: labelled"
    )
    ax1.legend(loc="upper left", fontsize=8)
    save_figure(fig, path)


def plot_category(
    path: Path, name: str, items: list[tuple[Series, np.ndarray, np.ndarray, Detection]]
) -> None:
    """Every file of a category: values (scaled to [0, 1]), score, labelled windows shaded."""
    fig, axes = plt.subplots(len(items), 1, figsize=(13, 1.3 * len(items) + 0.6), squeeze=False)
    for ax, (series, times, values, d) in zip(axes[:, 0], items, strict=True):
        span = np.ptp(values) or 1.0
        ax.plot(times, (values - values.min()) / span, color="black", linewidth=0.6)
        ax.plot(times, d.score, color="tab:purple", linewidth=0.6, alpha=0.8)
        _windows(ax, times, series)
        ax.set_yticks([])
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(series.stem, rotation=0, ha="right", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_title(f"{name}: values (black, scaled), score (purple), labelled windows (red)")
    save_figure(fig, path)
