"""Convert the trained model to TFLite and ONNX behind a parity gate: `python -m export`."""

import os

# Before TensorFlow loads (see training/__init__.py): no C++ start-up noise, no oneDNN reordering.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
