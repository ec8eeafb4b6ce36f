"""Edits of converted .tflite files, on the flatbuffer: what the converter cannot be asked for."""

from __future__ import annotations

import numpy as np


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


# The TFLite runtime each (op, version) of a 16-bit loop needs, from TFLite's
# tools/versioning/runtime_version.cc: the converter's figure for the file (2.15.0, for
# FULLY_CONNECTED version 11) no longer holds once repair_16x8 has made that version 4.
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


def repair_16x8(content: bytes) -> bytes:
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
