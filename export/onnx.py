"""Keras -> ONNX through a tf.function (tf2onnx's from_keras fails under Keras 3), and int8."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

OPSET = 17  # tf2onnx 1.17 converts 11-18 here; 17 is well supported by onnxruntime and tooling
INPUT_NAME = "window"
OUTPUT_NAME = "next"


def convert(model: keras.Model) -> bytes:
    """Float32 ONNX bytes with a dynamic batch dimension; LSTM/GRU map to native ONNX ops."""
    import tf2onnx

    window = model.input_shape[1]
    spec = (tf.TensorSpec((None, window, 1), tf.float32, name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def forward(x: tf.Tensor) -> tf.Tensor:
        return tf.identity(model(x, training=False), name=OUTPUT_NAME)

    proto, _ = tf2onnx.convert.from_function(
        forward, input_signature=spec, opset=OPSET, output_path=None
    )
    return proto.SerializeToString()


def quantize_dynamic(src: Path, dst: Path) -> None:
    """onnxruntime dynamic-range int8 weights (DynamicQuantizeLSTM for LSTM)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
