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


def plot_predictions(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str) -> None:
    """The seed's figure: true vs predicted next sample over the test split."""
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(y_true, label="true", linewidth=2)
    ax.plot(y_pred, label="predicted", linewidth=1, linestyle="--")
    ax.set(xlabel="test sample", ylabel="value", title=title)
    ax.legend()
    save_figure(fig, path)
