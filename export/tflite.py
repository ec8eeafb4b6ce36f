"""Keras -> TFLite for the four quantizations, by the routes that work with TF 2.21 / Keras 3.

A window model's LSTM becomes a WHILE loop whose TensorList ops need a static batch: defaulting
them to batch 1 converts every variant (the file then runs one window per invoke). A clone with a
fixed batch of 1 runs about 30% faster, but int8 calibration crashes on it, so only the files
without calibration use it. Unrolling the loop is faster still and takes any batch, for about 3.5x
the bytes. A step model has no loop and keeps a dynamic batch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .flatbuffer import repair_16x8, strip_names, widen_forecast_range


def batch1_clone(model: keras.Model) -> keras.Model:
    """The same window model with its input fixed to batch 1 (static shapes all through)."""
    return _clone(model, batch1=True)


def unrolled_clone(model: keras.Model) -> keras.Model:
    """The same window model with its recurrent loop unrolled: no WHILE op, any batch."""
    return _clone(model, unroll=True)


def _clone(model: keras.Model, batch1: bool = False, unroll: bool = False) -> keras.Model:
    cfg = model.get_config()
    for layer in cfg["layers"]:
        if layer["class_name"] == "InputLayer" and batch1:
            layer["config"]["batch_shape"] = [1, *layer["config"]["batch_shape"][1:]]
        if layer["class_name"] in ("LSTM", "GRU") and unroll:
            layer["config"]["unroll"] = True
    clone = keras.Sequential.from_config(cfg)
    clone.set_weights(model.get_weights())
    return clone


def convert(
    model: keras.Model,
    quant: str,
    representative: Callable[[], Iterable],
    forecast_range: tuple[float, float] = (-1.0, 1.0),
    activation_bits: int = 8,
    per_channel: bool = False,
) -> bytes:
    """The .tflite bytes of `model` quantized as float32, float16, dynamic_int8 or int8.

    An int8 file's activations are 8 or 16 bits (int8 weights either way, one scale per tensor
    unless per_channel: one per output channel), and its forecast output covers at least
    `forecast_range`.
    """
    content = _convert(model, quant, representative, activation_bits, per_channel)
    if quant == "int8":
        content = widen_forecast_range(content, *forecast_range)
    return strip_names(content)


def run_window_file(content: bytes, windows: np.ndarray) -> np.ndarray:
    """A window file's forecasts (model units) for windows (n, window, 1), through the runtime's
    own backend and quantization."""
    from runtime.backends import open_backend
    from runtime.forecaster import dequantize, quantize
    from runtime.windows import per_output

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(content)
        backend = open_backend(path, "tflite")
    x, y = backend.inputs[0], backend.outputs[0]
    out = [dequantize(backend.run(quantize(w[None], x))[0], y).reshape(-1) for w in windows]
    return per_output(np.array(out))


def _convert(
    model: keras.Model,
    quant: str,
    representative: Callable[[], Iterable],
    activation_bits: int,
    per_channel: bool = False,
) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter._experimental_default_to_single_batch_in_tensor_list_ops = True
    if quant == "int8" and activation_bits == 16 and _has_loop(model):
        return _loop_16x8(converter, representative, per_channel)
    if quant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quant == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        # Per-channel dense weights need FULLY_CONNECTED v12, which tflite-runtime 2.14 lacks.
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    elif quant == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        if activation_bits == 16:
            ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            io_type = tf.int16
        else:
            ops, io_type = tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.int8
        converter.target_spec.supported_ops = [ops]
        converter.inference_input_type = converter.inference_output_type = io_type
        # One scale per weight tensor unless asked: per-channel scales and int64 zero points
        # were a sixth of the file, for a deviation within 0.002 of per-channel on the series
        # measured then (a recipe asks where one scale does not hold: export/variants.py).
        converter._experimental_disable_per_channel = not per_channel
    elif quant != "float32":
        raise ValueError(f"unknown TFLite quantization {quant!r}")
    return converter.convert()


def _has_loop(model: keras.Model) -> bool:
    """Whether the model's recurrent layers become a WHILE loop (a window model, not unrolled)."""
    return any(
        isinstance(layer, keras.layers.RNN | keras.layers.LSTM | keras.layers.GRU)
        and not layer.unroll
        for layer in model.layers
    )


def _loop_16x8(
    converter: tf.lite.TFLiteConverter, representative: Callable, per_channel: bool
) -> bytes:
    """A WHILE-loop model with int8 weights and 16-bit activations.

    The converter's 16x8 mode goes through the old quantizer, which refuses loops ("Empty
    min/max for tensor while_cond_arg0"). The MLIR quantizer takes them when asked for
    QUANTIZED_INT16 after a calibration-only pass, but leaves three things the 16-bit kernels
    refuse at prepare; flatbuffer.repair_16x8 mends them.
    """
    from tensorflow.lite.python import convert as tflite_convert
    from tensorflow.lite.toco import types_pb2

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    content = tflite_convert.mlir_quantize(
        calibrated,
        disable_per_channel=not per_channel,
        fully_quantize=True,
        inference_type=types_pb2.QUANTIZED_INT16,
        input_data_type=tf.int16,
        output_data_type=tf.int16,
    )
    return repair_16x8(content)
