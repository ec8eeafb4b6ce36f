"""Keras -> TFLite for the four variants, by the route that works with TF 2.21 / Keras 3.

`from_keras_model` alone fails on the LSTM's TensorList ops; defaulting them to batch 1 converts
every variant (the file then runs one window per invoke).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def convert(model: keras.Model, variant: str, calib_x: np.ndarray) -> bytes:
    """The .tflite bytes of `variant` (float32, float16, dynamic_int8 or int8)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter._experimental_default_to_single_batch_in_tensor_list_ops = True
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        # Per-channel dense weights need FULLY_CONNECTED v12, which tflite-runtime 2.14 lacks.
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    elif variant == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([w[None]] for w in calib_x.astype(np.float32))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif variant != "float32":
        raise ValueError(f"unknown TFLite variant {variant!r}")
    return converter.convert()
