"""`make bench`: speed, memory and size of the runtime beside Keras/TensorFlow, in one run."""

import os

# As in training/: no TensorFlow start-up noise, the same float arithmetic the model was trained in.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
