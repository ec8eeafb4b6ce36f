"""A fresh process's start-up: `python -m bench.coldstart runtime|tensorflow ARTIFACTS [FILE]`.

Imports, loads the model and makes one prediction, then prints the seconds since the process
started and its peak RSS as JSON. The parent also times the whole process from outside.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory since its exec, in MB.

    Linux's VmHWM, not getrusage: ru_maxrss survives exec and so counts the forking parent.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run one cold start of the runtime or of TensorFlow/Keras and report it."""
    kind, folder = sys.argv[1], Path(sys.argv[2])
    t0 = time.perf_counter()
    if kind == "runtime":
        import numpy as np

        from runtime import open_model

        model = open_model(folder / sys.argv[3])
        x = np.zeros((1, model.window, 1))
        y = (
            model.predict_model_units(x)
            if model.mode == "window"
            else model.step_model_units(np.zeros(1), model.zero_state())[0]
        )
    else:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        import numpy as np

        model = keras.saving.load_model(folder / "model.keras", compile=False)
        y = model.predict(np.zeros((1, model.input_shape[1], 1), np.float32), verbose=0)
    assert np.isfinite(y).all()
    print(
        json.dumps(
            {
                "seconds_in_process": time.perf_counter() - t0,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
