"""Keras -> ONNX through a tf.function (tf2onnx's from_keras fails under Keras 3); int8 weights."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import rounding

OPSET = 17  # tf2onnx 1.17 converts 11-18 here; 17 is well supported by onnxruntime and tooling


def convert(model: keras.Model) -> bytes:
    """Float32 ONNX bytes with a dynamic batch; inputs keep the Keras input names.

    Outputs are named output_0, output_1, ... in the Keras model's output order.
    """
    import tf2onnx

    spec = tuple(
        tf.TensorSpec((None, *t.shape[1:]), tf.float32, name=t.name.split(":")[0])
        for t in model.inputs
    )

    @tf.function(input_signature=spec)
    def forward(*inputs: tf.Tensor) -> list[tf.Tensor]:
        outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        return [tf.identity(t, name=f"output_{i}") for i, t in enumerate(outputs)]

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=OPSET)
    return proto.SerializeToString()


def quantize_weights(src: Path, dst: Path) -> None:
    """The same graph with every float weight stored as int8 (one scale per output channel, or
    one for a matrix training put on the int8 grid) and restored by a DequantizeLinear node: a
    third of the bytes, float arithmetic.

    onnxruntime's quantize_dynamic (DynamicQuantizeLSTM, 8-bit activations per call) measured
    1.0-1.6e-2 on the NAB series against the 1e-2 bound; weights alone cost 3.4-4.2e-3.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    for init in list(graph.initializer):
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.ndim < 2 or w.size < 64:
            continue
        axis = w.ndim - 2  # LSTM/GRU W and R: (directions, gates x units, inputs); MatMul (in, out)
        axis = w.ndim - 1 if init.name not in _rnn_weights(graph) else axis
        others = tuple(i for i in range(w.ndim) if i != axis)
        scale = (np.abs(w).max(axis=others) / 127).astype(np.float32)
        if rounding.on_int8_grid(w):  # training's grid: its one scale keeps every weight exact
            scale = np.full_like(scale, np.abs(w).max() / 127)
        scale[scale == 0] = 1.0
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.round(w / scale.reshape(shape)).astype(np.int8)
        names = [f"{init.name}_int8", f"{init.name}_scale", f"{init.name}_zero"]
        graph.initializer.remove(init)
        graph.initializer.extend(
            numpy_helper.from_array(a, n)
            for a, n in zip([q, scale, np.zeros(len(scale), np.int8)], names, strict=True)
        )
        graph.node.insert(0, helper.make_node("DequantizeLinear", names, [init.name], axis=axis))
    onnx.save(model, str(dst))


def _rnn_weights(graph: object) -> set[str]:
    """Initializer names used as W or R of an LSTM/GRU node (gates along axis 1)."""
    return {name for n in graph.node if n.op_type in ("LSTM", "GRU") for name in n.input[1:3]}
