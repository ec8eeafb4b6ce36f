"""The forecaster: stacked LSTM or GRU layers and a Dense(1) head."""

from __future__ import annotations

import keras

from .config import TrainConfig

CELL_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_model(cfg: TrainConfig) -> keras.Model:
    """An uncompiled-to-compiled Sequential model: window of 1 feature in, next sample out."""
    layer = CELL_LAYERS[cfg.cell]
    model = keras.Sequential(name=f"{cfg.cell}_forecaster")
    model.add(keras.Input(shape=(cfg.window, 1), name="window"))
    for i in range(cfg.layers):
        model.add(layer(cfg.units, return_sequences=i < cfg.layers - 1, name=f"{cfg.cell}_{i}"))
    model.add(keras.layers.Dense(1, name="next"))
    model.compile(optimizer="adam", loss="mse")
    return model
