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
) -> bytes:
    """The .tflite bytes of `model` quantized as float32, float16, dynamic_int8 or int8.

    An int8 file's activations are 8 or 16 bits (int8 weights either way), and its forecast
    output covers at least `forecast_range`.
    """
    content = _convert(model, quant, representative, activation_bits)
    if quant == "int8":
        content = widen_forecast_range(content, *forecast_range)
    return strip_names(content)


def widen_forecast_range(content: bytes, lo: float, hi: float) -> bytes:
    """Make an int8 file's forecast output represent at least [lo, hi] (model units).

    Calibration sets that range from the forecasts the calibration data produced; inputs within
    the runtime's margin can produce others (measured on the NAB EC2 series: calibrated
    [0, 0.87], stressed windows' forecasts [-0.32, 1.03]), and a saturated int8 output is wrong by
    the whole excess. The forecast is the output of the head's FULLY_CONNECTED op, which derives
    its requantization from this tensor's scale when the interpreter prepares it.
    """
    from tensorflow.lite.python.schema_py_generated import BuiltinOperator
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    graph = model.subgraphs[0]
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        opcode = max(code.builtinCode, code.deprecatedBuiltinCode)
        if opcode == BuiltinOperator.FULLY_CONNECTED and op.outputs[0] in graph.outputs:
            _cover([graph.tensors[op.outputs[0]]], lo, hi)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def share_state_quantization(content: bytes, pairs: list[tuple[int, int]]) -> bytes:
    """Give each (input, output) pair of a step file's state tensors (positions among the
    model's inputs and outputs) one quantization covering both ranges.

    The 16x8 converter calibrates a state's input and output separately (scales 1.43748e-5 and
    1.43727e-5, say), so the runtime would requantize the state every step; with one
    quantization the output goes straight back in.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    graph = model.subgraphs[0]
    for i, o in pairs:
        _cover([graph.tensors[graph.inputs[i]], graph.tensors[graph.outputs[o]]], 0.0, 0.0)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _cover(tensors: list, lo: float, hi: float) -> None:
    """Set the tensors' quantization to one that represents [lo, hi] and each one's own range."""
    from tensorflow.lite.python.schema_py_generated import TensorType

    int16 = tensors[0].type == TensorType.INT16
    qmin, qmax = (-32767, 32767) if int16 else (-128, 127)
    for t in tensors:
        scale, zero = float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])
        lo, hi = min(lo, (qmin - zero) * scale), max(hi, (qmax - zero) * scale)
    if int16:  # 16-bit activations are symmetric: zero point 0
        scale, zero = max(-lo, hi) / qmax, 0
    else:
        scale = (hi - lo) / 255
        zero = round(-128 - lo / scale)
    for t in tensors:
        t.quantization.scale, t.quantization.zeroPoint = [scale], [zero]


def run_window_file(content: bytes, windows: np.ndarray) -> np.ndarray:
    """A window file's forecasts (model units) for windows (n, window, 1), through the runtime's
    own backend and quantization."""
    from runtime.backends import open_backend
    from runtime.forecaster import dequantize, quantize

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(content)
        backend = open_backend(path, "tflite")
    x, y = backend.inputs[0], backend.outputs[0]
    return np.array([dequantize(backend.run(quantize(w[None], x))[0], y).item() for w in windows])


def strip_names(content: bytes) -> bytes:
    """Drop the names of internal tensors: they are a sixth of an int8 file and nothing reads them.

    The inputs, outputs and signatures keep theirs (a step file's inputs are found by name).
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    for i, graph in enumerate(model.subgraphs):
        keep = set(graph.inputs) | set(graph.outputs) if i == 0 else set()
        for k, tensor in enumerate(graph.tensors):
            if k not in keep:
                tensor.name = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _convert(
    model: keras.Model, quant: str, representative: Callable[[], Iterable], activation_bits: int
) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter._experimental_default_to_single_batch_in_tensor_list_ops = True
    if quant == "int8" and activation_bits == 16 and _has_loop(model):
        return _loop_16x8(converter, representative)
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
        # One scale per weight tensor: per-channel scales and int64 zero points were a sixth of
        # the file, for a deviation within 0.002 of per-channel on every series measured.
        converter._experimental_disable_per_channel = True
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


def _loop_16x8(converter: tf.lite.TFLiteConverter, representative: Callable) -> bytes:
    """A WHILE-loop model with int8 weights and 16-bit activations.

    The converter's 16x8 mode goes through the old quantizer, which refuses loops ("Empty
    min/max for tensor while_cond_arg0"). The MLIR quantizer takes them when asked for
    QUANTIZED_INT16 after a calibration-only pass, but leaves three things the 16-bit kernels
    refuse at prepare; _repair_16x8 mends them.
    """
    from tensorflow.lite.python import convert as tflite_convert
    from tensorflow.lite.toco import types_pb2

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    content = tflite_convert.mlir_quantize(
        calibrated,
        disable_per_channel=True,
        fully_quantize=True,
        inference_type=types_pb2.QUANTIZED_INT16,
        input_data_type=tf.int16,
        output_data_type=tf.int16,
    )
    return _repair_16x8(content)


# The TFLite runtime each (op, version) of a 16-bit loop needs, from TFLite's
# tools/versioning/runtime_version.cc: the converter's figure for the file (2.15.0, for
# FULLY_CONNECTED version 11) no longer holds once _repair_16x8 has made that version 4.
LOOP_OP_RUNTIME = {
    ("FULLY_CONNECTED", 4): "1.14.0",
    ("FILL", 3): "2.5.0",
    ("TRANSPOSE", 5): "2.4.0",
    ("GATHER", 4): "2.4.0",
    ("SLICE", 4): "2.4.0",
    ("SPLIT", 4): "2.3.0",
    ("MUL", 4): "2.3.0",
    ("LOGISTIC", 3): "2.3.0",
    ("TANH", 3): "2.3.0",
    ("CONCATENATION", 3): "2.3.0",
    ("DEQUANTIZE", 3): "1.15.0",
    ("QUANTIZE", 2): "1.15.0",
    ("WHILE", 1): "1.15.0",
    ("PACK", 1): "1.11.0",
    ("SHAPE", 1): "1.10.0",
    ("EXPAND_DIMS", 1): "1.10.0",
    ("STRIDED_SLICE", 1): "1.6.0",
    ("ADD", 1): "1.5.0",
    ("ADD", 2): "1.14.0",
    ("ADD", 3): "2.4.0",
    ("SUB", 1): "1.6.0",
    ("SUB", 2): "1.14.0",
    ("SUB", 3): "2.3.0",
    ("SUB", 4): "2.4.0",
    ("SUB", 5): "2.4.0",
    ("RESHAPE", 1): "1.5.0",
    ("LESS", 1): "1.14.0",
    ("LOGICAL_AND", 1): "1.11.0",
}


def _min_runtime_version(model: object) -> str | None:
    """The file's minimum TFLite runtime by LOOP_OP_RUNTIME, or None if an op is not listed."""
    from tensorflow.lite.python.schema_py_generated import BuiltinOperator

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    need = []
    for code in model.operatorCodes:
        key = (names.get(max(code.builtinCode, code.deprecatedBuiltinCode)), code.version)
        if key not in LOOP_OP_RUNTIME:
            return None
        need.append(tuple(int(p) for p in LOOP_OP_RUNTIME[key].split(".")))
    return ".".join(map(str, max(need)))


def _repair_16x8(content: bytes) -> bytes:
    """Make the MLIR quantizer's 16x8 loop loadable: every int16 tensor gets zero point 0 (its
    values move by at most one step, ~3e-5), an int8 constant feeding a 16-bit op other than a
    FULLY_CONNECTED (the LSTM bias, for an ADD) becomes int16, and LOGISTIC and TANH outputs get
    the fixed scale 1/32768 their int16 kernels require. A 16-bit FULLY_CONNECTED's int32 bias
    becomes int64, as TFLite's own 16x8 mode writes it: that is version 4 of the op, which
    tflite-runtime 2.14 has (the int32 form is version 11; it moved forecasts by 2e-4)."""
    from tensorflow.lite.python.schema_py_generated import BuiltinOperator, TensorType
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    int16 = TensorType.INT16
    for graph in model.subgraphs:
        for t in graph.tensors:
            q = t.quantization
            if t.type == int16 and q is not None and q.zeroPoint is not None:
                q.zeroPoint = [0] * len(q.zeroPoint)
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            opcode = max(code.builtinCode, code.deprecatedBuiltinCode)
            outputs = [graph.tensors[o] for o in op.outputs if o >= 0]
            if not any(t.type == int16 for t in outputs):
                continue
            if opcode in (BuiltinOperator.LOGISTIC, BuiltinOperator.TANH):
                outputs[0].quantization.scale = [1 / 32768]
            if opcode == BuiltinOperator.FULLY_CONNECTED:
                bias = graph.tensors[op.inputs[2]] if len(op.inputs) > 2 else None
                if op.inputs[-1] >= 0 and bias is not None and bias.type == TensorType.INT32:
                    buffer = model.buffers[bias.buffer]
                    buffer.data = np.frombuffer(bytes(buffer.data), "<i4").astype("<i8").tobytes()
                    bias.type = TensorType.INT64
                    code.version = 4
                continue
            for t in (graph.tensors[i] for i in op.inputs if i >= 0):
                data = model.buffers[t.buffer].data
                if t.type == TensorType.INT8 and data is not None and len(data):
                    scale, zero = t.quantization.scale[0], t.quantization.zeroPoint[0]
                    values = (np.frombuffer(bytes(data), np.int8) - zero) * scale
                    step = max(float(np.abs(values).max()), 1e-12) / 32767
                    model.buffers[t.buffer].data = np.round(values / step).astype("<i2").tobytes()
                    t.type = int16
                    t.quantization.scale, t.quantization.zeroPoint = [step], [0]
    version = _min_runtime_version(model)
    for entry in model.metadata or []:
        if version and entry.name in (b"min_runtime_version", "min_runtime_version"):
            data = model.buffers[entry.buffer].data
            model.buffers[entry.buffer].data = version.encode().ljust(len(data), b"\0")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
