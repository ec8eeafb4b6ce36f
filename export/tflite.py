"""Keras -> TFLite for the four quantizations, by the routes that work with TF 2.21 / Keras 3.

A window model's LSTM becomes a WHILE loop whose TensorList ops need a static batch: defaulting
them to batch 1 converts every variant (the file then runs one window per invoke). A clone with a
fixed batch of 1 runs about 30% faster, but int8 calibration crashes on it, so only the files
without calibration use it. Unrolling the loop is faster still and takes any batch, for about 3.5x
the bytes. A step model has no loop and keeps a dynamic batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras
import tensorflow as tf


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


def convert(model: keras.Model, quant: str, representative: Callable[[], Iterable]) -> bytes:
    """The .tflite bytes of `model` quantized as float32, float16, dynamic_int8 or int8."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter._experimental_default_to_single_batch_in_tensor_list_ops = True
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
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif quant != "float32":
        raise ValueError(f"unknown TFLite quantization {quant!r}")
    return converter.convert()
