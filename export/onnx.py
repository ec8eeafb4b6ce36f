"""Keras -> ONNX through a tf.function (tf2onnx's from_keras fails under Keras 3), and int8."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

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


def quantize_dynamic(src: Path, dst: Path) -> None:
    """onnxruntime dynamic-range int8 weights (DynamicQuantizeLSTM for LSTM)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
