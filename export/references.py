"""What every exported file is held to: the trained model's inputs and Keras's forecasts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.anomaly import THRESHOLD, cycle
from runtime.errors import UserError
from runtime.parity import Reference
from runtime.windows import Normalization, per_output
from training import stress
from training.files import step_weights_file


def load_inputs(artifacts: Path) -> tuple[dict, dict]:
    """model.json and windows.npz, or a UserError naming what is missing and what to run."""
    for name in ("model.keras", "model.json", "windows.npz"):
        if not (artifacts / name).is_file():
            raise UserError(
                f"{artifacts / name} is missing: train first (make train, or "
                f"python -m training --out {artifacts})"
            )
    try:
        meta = json.loads((artifacts / "model.json").read_text())
        windows = dict(np.load(artifacts / "windows.npz"))
        meta["window"], meta["normalization"]["center"], meta["data"]["test_start"]
    except (OSError, ValueError, KeyError) as e:
        raise UserError(
            f"{artifacts}/model.json or windows.npz is unreadable ({e!r}): train again"
        ) from None
    return meta, windows


def load_keras(path: Path):
    """A trained Keras model, or a UserError saying to train again."""
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # keras raises many types for a damaged archive
        raise UserError(
            f"cannot load {path} ({type(e).__name__}: {str(e).splitlines()[0][:200]}): train again"
        ) from None


@dataclass
class References:
    """What every file is held to, computed once from the Keras model."""

    ref: Reference  # Keras's forecasts on the test windows, the stream and the stress windows
    y_test: np.ndarray  # the test targets
    test_start: int  # index in the stream of the first test target
    anomaly: dict  # the anomaly score's threshold and the series' period (runtime/anomaly.py)
    norm: Normalization  # model units <-> data units
    state_names: list[str]  # the step model's state tensors, e.g. ["h0", "c0"]
    step_model: object  # Keras step model, to tell a step file's outputs apart
    test_last: np.ndarray | None  # the sample before each test target (data units), if saved

    def levels(self, y: np.ndarray) -> np.ndarray:
        """Outputs for the test targets (model units) -> forecasts of the samples (data units):
        a change model's step is added to the last sample."""
        return (
            self.norm.decode(y) if self.test_last is None else self.norm.forecast(y, self.test_last)
        )

    def step_test_predictions(self, stream_pred: np.ndarray) -> np.ndarray:
        """The forecasts a stream made for the test targets (made one sample before each)."""
        return stream_pred[self.test_start - 1 : self.test_start - 1 + len(self.y_test)]

    def keras_test_mse(self) -> dict[str, float]:
        """Keras's test MSE in each mode (data units): which mode forecasts better."""
        y = self.norm.decode(self.y_test)
        pred = {"window": self.ref.window, "step": self.step_test_predictions(self.ref.stream)}
        return {m: float(np.mean((self.norm.decode(p) - y) ** 2)) for m, p in pred.items()}


def anomaly_settings(windows: dict, window: int, trained: int) -> dict:
    """What the anomaly score starts from: its threshold, the series' period where the model's
    window cannot hold it (a cycle it holds is kept apart, for the report: the score needs no
    profile of it), and the range of the samples training saw (the first `trained`)."""
    settings = {"threshold": THRESHOLD, "period": 0}
    if "values" in windows:
        values = windows["values"]
        found = cycle(values) if len(values) >= 3 * (window + 1) else 0
        settings["period"] = found if found > window else 0
        settings["cycle"] = found if 0 < found <= window else 0
        seen = values[:trained]
        settings["range"] = [float(seen.min()), float(seen.max())]
    return settings


def references(artifacts: Path, meta: dict, windows: dict) -> References:
    """Keras forecasts in both modes, on the test windows, the stream and the stress set."""
    from .step import sequence_reference, state_names, step_model

    model = load_keras(artifacts / "model.keras")
    stepper = load_keras(step_weights_file(artifacts))  # tuned for streaming, or the same weights
    window, horizon = meta["window"], meta.get("horizon", 1)
    norm = Normalization.from_dict(meta["normalization"])
    series = windows["series"]
    test_start = int(meta["data"]["test_start"])
    stream = sequence_reference(stepper, series)
    stress_x = stress.stretched_windows(series, np.arange(test_start, len(series)), window)
    ref = Reference(
        x_test=windows["test_x"],
        window=per_output(model.predict(windows["test_x"], batch_size=256, verbose=0)),
        test_held=stress.within_margin(windows["test_x"]),
        stress_x=stress_x,
        stress_window=per_output(model.predict(stress_x, batch_size=256, verbose=0)),
        stress_step=per_output(stepper.predict(stress_x, batch_size=256, verbose=0)),
        series=series,
        stream=stream,
        stream_held=stress.stream_within_margin(series, window),
    )
    return References(
        ref=ref,
        y_test=windows["test_y"],
        test_start=test_start,
        anomaly=anomaly_settings(windows, window, test_start + norm.lead),
        norm=norm,
        state_names=state_names(stepper),
        step_model=step_model(stepper),
        test_last=windows["values"][test_start + norm.lead - 1 : -horizon]
        if "values" in windows
        else None,
    )
