"""The forecaster: stacked LSTM or GRU layers and a Dense head, an output per sample ahead."""

from __future__ import annotations

import keras

from .config import TrainConfig

CELL_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_model(cfg: TrainConfig, sequences: bool = False) -> keras.Model:
    """The compiled forecaster: a window of 1 feature in, the next sample (or the next H) out.

    With sequences=True the same layers take sequences of any length and forecast after every
    step; its weights load unchanged into the window model.
    """
    layer = CELL_LAYERS[cfg.cell]
    model = keras.Sequential(name=f"{cfg.cell}_forecaster")
    model.add(keras.Input(shape=(None if sequences else cfg.window, 1), name="window"))
    for i in range(cfg.layers):
        last = i == cfg.layers - 1
        model.add(layer(cfg.units, return_sequences=sequences or not last, name=f"{cfg.cell}_{i}"))
    model.add(keras.layers.Dense(cfg.horizon, name="next"))
    model.compile(optimizer="adam", loss="mse")
    return model
