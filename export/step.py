"""Step models: one sample and the recurrent state in, the forecast and the next state out.

Built from the trained weights, so a device pays one cell update per sample instead of a whole
window. The reference is the same layers run over the stream with return_sequences=True.
"""

from __future__ import annotations

import keras
import numpy as np

from runtime.windows import per_output

from .cells import fused_cell

RNN_TYPES = (keras.layers.LSTM, keras.layers.GRU)


def rnn_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The recurrent layers of a trained forecaster, bottom first."""
    return [layer for layer in model.layers if isinstance(layer, RNN_TYPES)]


def layer_weights(model: keras.Model) -> tuple[list[tuple], tuple]:
    """(cell, kernel, recurrent, bias) per recurrent layer in Keras's layout, and the head's
    (kernel, bias): what the numpy and C forecasters run (default activations only)."""
    layers = []
    for layer in rnn_layers(model):
        cfg = layer.get_config()
        if (cfg["activation"], cfg["recurrent_activation"], cfg.get("reset_after", True)) != (
            "tanh",
            "sigmoid",
            True,
        ):
            raise ValueError(f"{layer.name}: only the default activations can be exported")
        cell = "lstm" if isinstance(layer, keras.layers.LSTM) else "gru"
        layers.append((cell, *layer.get_weights()))
    return layers, tuple(model.layers[-1].get_weights())


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


def step_model(
    model: keras.Model, fused: bool = False, two_pass: bool = False, split_input: bool = False
) -> keras.Model:
    """(x_t, *states) -> (y_t, *states'), every tensor shaped (batch, features).

    fused: built from the fused cells of export/cells.py (for full-integer int8); two_pass: from
    its two-pass cells (for dynamic-range int8); split_input: from its split-input cells (for
    full-integer int8).
    """
    x = keras.Input(shape=(1,), name="x")
    names, sizes = state_names(model), state_sizes(model)
    states = [keras.Input(shape=(n,), name=name) for name, n in zip(names, sizes, strict=True)]
    h, new_states, k, size = x, [], 0, 1
    for i, layer in enumerate(rnn_layers(model)):
        cell = _cell(layer, size, i, fused, two_pass, split_input)
        n = 2 if isinstance(layer, keras.layers.LSTM) else 1
        h, out_states = cell(h, states[k : k + n])
        new_states += out_states if isinstance(out_states, list | tuple) else [out_states]
        k, size = k + n, layer.units
    head = model.layers[-1]
    dense = keras.layers.Dense.from_config(head.get_config())
    y = dense(h)
    dense.set_weights(head.get_weights())
    return keras.Model([x, *states], [y, *new_states], name="step")


def _cell(
    layer: keras.layers.Layer,
    input_size: int,
    i: int,
    fused: bool,
    two_pass: bool = False,
    split_input: bool = False,
) -> keras.layers.Layer:
    """Layer i's cell, built and holding its trained weights."""
    if fused or two_pass or split_input:
        return fused_cell(layer, input_size, f"cell_{i}", two_pass, i > 0, split_input)
    cell = type(layer.cell).from_config(layer.cell.get_config() | {"name": f"cell_{i}"})
    cell.build((None, input_size))
    cell.set_weights(layer.cell.get_weights())
    return cell


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
    """Keras's forecast after every sample of the stream, from a zero state, shape (T,), or
    (T, H) for a model of H samples ahead."""
    seq = sequence_model(model)
    # predict runs a compiled graph: called eagerly, the loop took 36 s on 7,267 samples, not 0.5
    return per_output(seq.predict(series.reshape(1, -1, 1).astype(np.float32), verbose=0)[0])


class _StatesOut(keras.layers.Layer):
    """A cell whose output at every step is its whole new state, concatenated."""

    def __init__(self, cell: keras.layers.Layer) -> None:
        super().__init__()
        self.cell = cell
        sizes = cell.state_size
        self.state_size = list(sizes) if isinstance(sizes, list | tuple) else [sizes]
        self.output_size = sum(self.state_size)

    def call(self, x, states):
        _, new = self.cell(x, states)
        new = list(new) if isinstance(new, list | tuple) else [new]
        return keras.ops.concatenate(new, axis=-1), new


def stream_states(model: keras.Model, series: np.ndarray) -> list[np.ndarray]:
    """Each state tensor before every step of a stream (T,), or of each of a batch of streams
    (B, T), from a zero state: (B*T, n) each, in state_names order. One vectorized pass per
    layer, not a Python loop over the samples."""
    seq = np.atleast_2d(series)[..., None].astype(np.float32)
    states, size = [], 1
    for i, layer in enumerate(rnn_layers(model)):
        rnn = keras.layers.RNN(_StatesOut(_cell(layer, size, i, False)), return_sequences=True)
        inp = keras.Input(shape=(None, size))
        # predict runs a compiled graph: eager, the loop costs about a millisecond per step
        after = keras.Model(inp, rnn(inp)).predict(seq, verbose=0)  # (B, T, states), h first
        before = np.concatenate([np.zeros_like(after[:, :1]), after[:, :-1]], axis=1)
        n = 2 if isinstance(layer, keras.layers.LSTM) else 1
        states += [s.reshape(-1, s.shape[-1]) for s in np.split(before, n, axis=2)]
        seq, size = after[:, :, : layer.units], layer.units
    return states


def calibration_inputs(
    model: keras.Model, streams: list[np.ndarray], count: int, headroom: float = 1.0
) -> list[dict[str, np.ndarray]]:
    """{x, h0, ...} at `count` evenly spaced steps over whole streams (each (T,), or a batch
    (B, T) of short ones): int8 calibration data; with headroom > 1, each also with its states
    scaled by it (h clipped to its bound of 1), so the ranges cover states the data did not reach.

    Evenly spaced over every stream, not the first steps of one: states late in a long stream
    must lie within the calibrated range too.
    """
    names = ["x", *state_names(model)]
    rows = []
    for series in streams:
        values = [series.reshape(-1, 1).astype(np.float32), *stream_states(model, series)]
        rows += [[v[t : t + 1] for v in values] for t in range(len(values[0]))]
    picks = np.unique(np.linspace(0, len(rows) - 1, count).astype(int))
    out = [dict(zip(names, rows[t], strict=True)) for t in picks]
    if headroom > 1:
        wider = lambda k, v: np.clip(v * headroom, -1, 1) if k.startswith("h") else v * headroom  # noqa: E731
        out += [{k: v if k == "x" else wider(k, v) for k, v in row.items()} for row in out]
    return out
