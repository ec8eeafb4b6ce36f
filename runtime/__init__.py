"""On-device forecasting with exported TFLite/ONNX/numpy/C files: numpy and one interpreter, no
TensorFlow.

from runtime import Stream, open_model
model = open_model("artifacts")  # the manifest's best mode; variant=, mode=, backend= to choose
stream = Stream(model)
for sample in sensor:
    forecast = stream.push(sample)  # None until the first window is full
"""

from .errors import UserError
from .forecaster import StepModel, WindowModel, open_model
from .stream import Stream

__all__ = ["StepModel", "Stream", "UserError", "WindowModel", "open_model"]
