"""Figures a person looks at: loss curves and true vs predicted on the test split."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

DPI = 100


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Lay out, write as PNG and free a figure (matplotlib keeps open figures alive)."""
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_history(history: dict, path: Path, title: str) -> None:
    """Training and validation loss per epoch, log scale."""
    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="loss")
    if "val_loss" in history:
        ax.plot(epochs, history["val_loss"], label="val loss")
    ax.set(xlabel="epoch", ylabel="mse (normalized units)", yscale="log", title=title)
    ax.legend()
    save_figure(fig, path)


FANS = 12  # forecasts drawn over the horizon on the test split, evenly spaced


def plot_predictions(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str) -> None:
    """The seed's figure: true vs predicted next sample over the test split; for forecasts of
    H samples, (n, H), a fan: a few forecasts drawn over their horizon against what came."""
    fig, ax = plt.subplots(figsize=(9, 4))
    if y_true.ndim == 1:
        ax.plot(y_true, label="true", linewidth=2)
        ax.plot(y_pred, label="predicted", linewidth=1, linestyle="--")
    else:
        horizon = y_true.shape[1]
        came = np.concatenate([y_true[:, 0], y_true[-1, 1:]])
        ax.plot(came, label="what came", color="black", linewidth=1.5)
        for k, i in enumerate(np.linspace(0, len(y_pred) - 1, FANS).astype(int)):
            steps = np.arange(i, i + horizon)
            ax.plot(
                steps,
                y_pred[i],
                color="tab:orange",
                linewidth=1,
                label=f"forecast of the next {horizon}" if k == 0 else None,
            )
    ax.set(xlabel="test sample", ylabel="value", title=title)
    ax.legend()
    save_figure(fig, path)
