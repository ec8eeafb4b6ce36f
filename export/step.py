"""Step models: one sample and the recurrent state in, the forecast and the next state out.

Built from the trained weights, so a device pays one cell update per sample instead of a whole
window. The reference is the same layers run over the stream with return_sequences=True.
"""

from __future__ import annotations

import keras
import numpy as np

RNN_TYPES = (keras.layers.LSTM, keras.layers.GRU)


def rnn_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The recurrent layers of a trained forecaster, bottom first."""
    return [layer for layer in model.layers if isinstance(layer, RNN_TYPES)]


def state_names(model: keras.Model) -> list[str]:
    """One name per state tensor, e.g. ['h0', 'c0', 'h1', 'c1'] for two LSTM layers."""
    names = []
    for i, layer in enumerate(rnn_layers(model)):
        names += [f"h{i}", f"c{i}"] if isinstance(layer, keras.layers.LSTM) else [f"h{i}"]
    return names


def state_sizes(model: keras.Model) -> list[int]:
    """Units of each state tensor, in state_names order."""
    sizes = []
    for layer in rnn_layers(model):
        sizes += [layer.units] * (2 if isinstance(layer, keras.layers.LSTM) else 1)
    return sizes


def step_model(model: keras.Model) -> keras.Model:
    """(x_t, *states) -> (y_t, *states'), every tensor shaped (batch, features)."""
    x = keras.Input(shape=(1,), name="x")
    names, sizes = state_names(model), state_sizes(model)
    states = [keras.Input(shape=(n,), name=name) for name, n in zip(names, sizes, strict=True)]
    h, new_states, k = x, [], 0
    for i, layer in enumerate(rnn_layers(model)):
        cell = type(layer.cell).from_config(layer.cell.get_config() | {"name": f"cell_{i}"})
        n = 2 if isinstance(layer, keras.layers.LSTM) else 1
        h, out_states = cell(h, states[k : k + n])
        cell.set_weights(layer.cell.get_weights())
        new_states += out_states if isinstance(out_states, list | tuple) else [out_states]
        k += n
    head = model.layers[-1]
    dense = keras.layers.Dense.from_config(head.get_config())
    y = dense(h)
    dense.set_weights(head.get_weights())
    return keras.Model([x, *states], [y, *new_states], name="step")


def sequence_model(model: keras.Model) -> keras.Model:
    """The same layers returning a forecast at every step of a whole stream: the step reference."""
    cfg = model.get_config()
    for layer in cfg["layers"]:
        if layer["class_name"] in ("LSTM", "GRU"):
            layer["config"]["return_sequences"] = True
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, None, 1]  # any stream length
    seq = keras.Sequential.from_config(cfg)
    seq.set_weights(model.get_weights())
    return seq


def sequence_reference(model: keras.Model, series: np.ndarray) -> np.ndarray:
    """Keras's forecast after every sample of the stream, from a zero state, shape (T,)."""
    seq = sequence_model(model)
    return np.asarray(seq(series.reshape(1, -1, 1).astype(np.float32), training=False))[0, :, 0]


def calibration_inputs(model: keras.Model, series: np.ndarray) -> list[dict[str, np.ndarray]]:
    """{x, h0, ...} at every step of a stream from a zero state: int8 calibration data, by name."""
    step = step_model(model)
    names = ["x", *state_names(model)]
    states = [np.zeros((1, n), np.float32) for n in state_sizes(model)]
    samples = []
    for value in series.astype(np.float32):
        inputs = [np.array([[value]], np.float32), *states]
        samples.append(dict(zip(names, inputs, strict=True)))
        _, *states = (np.asarray(t) for t in step(inputs, training=False))
    return samples
