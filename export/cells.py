"""The trained recurrent layers rebuilt for full-integer quantization: same weights, same math.

Keras's cells compute x @ W, h @ U and the bias as three tensors and add them; in an int8 file
each of those sums is requantized to 8 bits. These cells give the converter one matmul with its
bias per pre-activation (an LSTM multiplies [x, h] by [W; U] once), so each is rounded once, with
its bias in int32. Measured on the NAB ambient-temperature model: in-range max deviation 0.034 ->
0.025, and 150 -> 88 µs per window invoke.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


class FusedLSTMCell(keras.layers.Layer):
    """An LSTM cell (Keras gate order i, f, g, o) with one matmul over [x, h]."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape: tuple) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1] + self.units, 4 * self.units))
        self.bias = self.add_weight(shape=(4 * self.units,))

    def call(self, x, states):
        h, c = states
        z = ops.matmul(ops.concatenate([x, h], axis=-1), self.kernel) + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]


class FusedGRUCell(keras.layers.Layer):
    """A GRU cell (reset_after=True, Keras gate order z, r, h) with one matmul each for x and h."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units]
        self.output_size = units

    def build(self, input_shape: tuple) -> None:
        n = 3 * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], n))
        self.input_bias = self.add_weight(shape=(n,))
        self.recurrent_kernel = self.add_weight(shape=(self.units, n))
        self.recurrent_bias = self.add_weight(shape=(n,))

    def call(self, x, states):
        h = states[0]
        xz, xr, xh = ops.split(ops.matmul(x, self.kernel) + self.input_bias, 3, axis=-1)
        hz, hr, hh = ops.split(ops.matmul(h, self.recurrent_kernel) + self.recurrent_bias, 3, -1)
        z, r = ops.sigmoid(xz + hz), ops.sigmoid(xr + hr)
        h = z * h + (1 - z) * ops.tanh(xh + r * hh)
        return h, [h]


def fused_cell(layer: keras.layers.Layer, input_size: int, name: str) -> keras.layers.Layer:
    """The fused cell of a trained LSTM or GRU layer, built and holding that layer's weights."""
    if isinstance(layer, keras.layers.LSTM):
        kernel, recurrent, bias = layer.get_weights()
        cell = FusedLSTMCell(layer.units, name=name)
        weights = [np.vstack([kernel, recurrent]), bias]
    elif isinstance(layer, keras.layers.GRU) and layer.cell.reset_after:
        kernel, recurrent, bias = layer.get_weights()  # bias: (2, 3 units), input then recurrent
        cell = FusedGRUCell(layer.units, name=name)
        weights = [kernel, bias[0], recurrent, bias[1]]
    else:
        raise ValueError(f"no fused cell for {type(layer).__name__} {layer.name}")
    cell.build((None, input_size))
    cell.set_weights(weights)
    return cell


def fused_clone(model: keras.Model, rnn_layers: list) -> keras.Model:
    """The window model rebuilt from fused cells: a window in, the next sample out."""
    window = model.input_shape[1]
    x = inputs = keras.Input(shape=(window, 1), name="window")
    size = 1
    for i, layer in enumerate(rnn_layers):
        last = i == len(rnn_layers) - 1
        x = keras.layers.RNN(fused_cell(layer, size, f"cell_{i}"), return_sequences=not last)(x)
        size = layer.units
    head = model.layers[-1]
    dense = keras.layers.Dense.from_config(head.get_config())
    y = dense(x)
    dense.set_weights(head.get_weights())
    return keras.Model(inputs, y, name="int8_forecaster")
