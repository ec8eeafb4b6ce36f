"""On-device forecasting with exported TFLite/ONNX files: numpy and one interpreter, no TensorFlow.

from runtime import Forecaster, Stream
model = Forecaster.load("artifacts", variant="dynamic_int8")
stream = Stream(model)
for sample in sensor:
    forecast = stream.push(sample)  # None until the first window is full
"""

from .errors import UserError
from .forecaster import Forecaster, StepForecaster, load
from .stream import Stream

__all__ = ["Forecaster", "StepForecaster", "Stream", "UserError", "load"]
