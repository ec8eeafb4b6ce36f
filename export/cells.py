"""The trained recurrent layers rebuilt for quantization: same weights, same math.

Fused cells, for full-integer files: Keras's cells compute x @ W, h @ U and the bias as three
tensors and add them; in an int8 file each of those sums is requantized to 8 bits. These cells
give the converter one matmul with its bias per pre-activation (an LSTM multiplies [x, h] by
[W; U] once), so each is rounded once, with its bias in int32. Measured on the NAB
ambient-temperature model: in-range max deviation 0.034 -> 0.025, and 150 -> 88 µs per window
invoke.

Two-pass cells, for dynamic-range files: a hybrid kernel rounds its float input to 8 bits
before it multiplies, and on a stream that rounding of the state is most of what such a file
loses (NAB's art_increase_spike_density: 1.5e-2 from Keras, 9e-4 with the state unrounded).
These cells multiply a state twice by the same int8 matrix, once as it is and once its rounding
error, which the kernel's second rounding leaves at 1/256 of the first.

Split-input cells, for full-integer files: such a file stores each weight matrix with one scale,
and a first layer's input kernel (one row, off training's int8 grid) loses most there (on
half-hourly electricity demand, that rounding alone moved stressed forecasts 0.18). These cells
multiply the input by two int8-exact parts, the kernel rounded onto its one scale and the
rounding's error, which its own scale keeps to 1/127 of the first's step.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from training.snap import INT8_MIN_ELEMENTS

from . import rounding


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


def hybrid_rounded(v):
    """v as a dynamic-range kernel rounds it (asymmetric_quantize_inputs): per row, 255 steps
    from min(v, 0) to max(v, 0), the zero point rounded, clamped to int8."""
    lo = ops.minimum(ops.min(v, axis=-1, keepdims=True), 0.0)
    hi = ops.maximum(ops.max(v, axis=-1, keepdims=True), 0.0)
    step = ops.where(hi > lo, (hi - lo) / 255.0, 1.0)
    zero = ops.round(-128.0 - lo / step)
    return (ops.clip(ops.round(v / step) + zero, -128.0, 127.0) - zero) * step


def product(v, kernel, two_pass: bool):
    """v @ kernel; with two_pass, where the converter makes it a hybrid product (a kernel of
    INT8_MIN_ELEMENTS or more is stored in int8), the sum of two: v's own and that of its
    rounding error. A float kernel multiplies v exactly: a second product would add the error."""
    if not two_pass or int(np.prod(kernel.shape)) < INT8_MIN_ELEMENTS:
        return ops.matmul(v, kernel)
    return ops.matmul(v, kernel) + ops.matmul(v - hybrid_rounded(v), kernel)


class TwoPassLSTMCell(keras.layers.Layer):
    """An LSTM cell (Keras's layout and gate order i, f, g, o) whose state products, and its
    input's when that is the state of the layer below, are two-pass."""

    def __init__(self, units: int, input_is_state: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.input_is_state = units, input_is_state
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape: tuple) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * self.units))
        self.recurrent_kernel = self.add_weight(shape=(self.units, 4 * self.units))
        self.bias = self.add_weight(shape=(4 * self.units,))

    def call(self, x, states):
        h, c = states
        xw = product(x, self.kernel, self.input_is_state)
        z = xw + product(h, self.recurrent_kernel, True) + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]


def input_parts(kernel: np.ndarray) -> list[np.ndarray]:
    """An input kernel as the parts a full-integer file stores exactly (each with one scale):
    the kernel rounded onto max |w| / 127 and the rounding's error; a kernel on training's grid
    (or all zero) whole."""
    kernel = np.asarray(kernel, np.float32)
    if rounding.on_int8_grid(kernel):
        return [kernel]
    step = rounding.scales(kernel, per_column=False)
    coarse = rounding.nearest(kernel, step) * step
    return [coarse, kernel - coarse]


class SplitInputLSTMCell(keras.layers.Layer):
    """Keras's LSTM cell (x @ W, h @ U and the bias as three tensors, gate order i, f, g, o) with
    x @ W the sum of its parts' products (input_parts)."""

    def __init__(self, units: int, parts: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.parts = units, parts
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape: tuple) -> None:
        n = 4 * self.units
        self.kernels = [self.add_weight(shape=(input_shape[-1], n)) for _ in range(self.parts)]
        self.recurrent_kernel = self.add_weight(shape=(self.units, n))
        self.bias = self.add_weight(shape=(n,))

    def call(self, x, states):
        h, c = states
        xw = sum(ops.matmul(x, k) for k in self.kernels)
        z = xw + ops.matmul(h, self.recurrent_kernel) + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]


class FusedGRUCell(keras.layers.Layer):
    """A GRU cell (reset_after=True, Keras gate order z, r, h) with one matmul each for x and h;
    two_pass: the state products, and the input's when that is a state, two-pass; parts > 1:
    x's product the sum of its kernel's parts' (input_parts)."""

    def __init__(
        self, units: int, two_pass: bool = False, input_is_state: bool = False, parts: int = 1, **kw
    ):
        super().__init__(**kw)
        self.units, self.parts = units, parts
        self.state_size = [units]
        self.output_size = units
        self.x_two_pass, self.h_two_pass = two_pass and input_is_state, two_pass

    def build(self, input_shape: tuple) -> None:
        n = 3 * self.units
        self.kernels = [self.add_weight(shape=(input_shape[-1], n)) for _ in range(self.parts)]
        self.input_bias = self.add_weight(shape=(n,))
        self.recurrent_kernel = self.add_weight(shape=(self.units, n))
        self.recurrent_bias = self.add_weight(shape=(n,))

    def call(self, x, states):
        h = states[0]
        x_part = sum(product(x, k, self.x_two_pass) for k in self.kernels) + self.input_bias
        h_part = product(h, self.recurrent_kernel, self.h_two_pass) + self.recurrent_bias
        xz, xr, xh = ops.split(x_part, 3, axis=-1)
        hz, hr, hh = ops.split(h_part, 3, axis=-1)
        z, r = ops.sigmoid(xz + hz), ops.sigmoid(xr + hr)
        h = z * h + (1 - z) * ops.tanh(xh + r * hh)
        return h, [h]


def fused_cell(
    layer: keras.layers.Layer,
    input_size: int,
    name: str,
    two_pass: bool = False,
    below: bool = False,
    split_input: bool = False,
) -> keras.layers.Layer:
    """The fused cell of a trained LSTM or GRU layer, built and holding that layer's weights;
    two_pass: the two-pass cell instead (`below`: its input is the state of a layer below);
    split_input: the split-input cell (a GRU's: its fused cell, the input kernel in parts)."""
    lstm = isinstance(layer, keras.layers.LSTM)
    if lstm and two_pass:
        cell = TwoPassLSTMCell(layer.units, below, name=name)
        weights = layer.get_weights()
    elif lstm and split_input:
        kernel, recurrent, bias = layer.get_weights()
        parts = input_parts(kernel)
        cell = SplitInputLSTMCell(layer.units, len(parts), name=name)
        weights = [*parts, recurrent, bias]
    elif lstm:
        kernel, recurrent, bias = layer.get_weights()
        cell = FusedLSTMCell(layer.units, name=name)
        weights = [np.vstack([kernel, recurrent]), bias]
    elif isinstance(layer, keras.layers.GRU) and layer.cell.reset_after:
        kernel, recurrent, bias = layer.get_weights()  # bias: (2, 3 units), input then recurrent
        parts = input_parts(kernel) if split_input else [kernel]
        cell = FusedGRUCell(layer.units, two_pass, below, len(parts), name=name)
        weights = [*parts, bias[0], recurrent, bias[1]]
    else:
        raise ValueError(f"no fused cell for {type(layer).__name__} {layer.name}")
    cell.build((None, input_size))
    cell.set_weights(weights)
    return cell


def fused_clone(
    model: keras.Model,
    rnn_layers: list,
    two_pass: bool = False,
    batch1: bool = False,
    split_input: bool = False,
    unroll: bool = False,
) -> keras.Model:
    """The window model rebuilt from fused cells (two_pass: the two-pass cells; split_input: the
    split-input ones): a window in, the next sample out; batch1: its input fixed to batch 1;
    unroll: its loop unrolled (no WHILE op)."""
    window = model.input_shape[1]
    batch = (1, window, 1) if batch1 else (None, window, 1)
    x = inputs = keras.Input(batch_shape=batch, name="window")
    size = 1
    for i, layer in enumerate(rnn_layers):
        last = i == len(rnn_layers) - 1
        cell = fused_cell(layer, size, f"cell_{i}", two_pass, i > 0, split_input)
        x = keras.layers.RNN(cell, return_sequences=not last, unroll=unroll)(x)
        size = layer.units
    head = model.layers[-1]
    dense = keras.layers.Dense.from_config(head.get_config())
    y = dense(x)
    dense.set_weights(head.get_weights())
    return keras.Model(inputs, y, name="int8_forecaster")
