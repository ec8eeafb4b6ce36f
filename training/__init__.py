"""Train a small recurrent forecaster and write it with its metadata: `python -m training`."""

import os

# Set before anything imports TensorFlow: its C++ start-up logs are noise to a user, and oneDNN's
# reordered float sums make runs differ in the last bits (and announce themselves on stderr).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
