"""The parity check: a file's forecasts against Keras's, one set of rules at export and on device.

The export computes the reference (Keras's forecasts on the test windows, the stream and the
stress windows) and writes it as reference.npz; `python -m runtime verify` reads it back, so a
device holds its own interpreter's results to the bounds the export's gate used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .forecaster import LoadedModel, StepModel, WindowModel

DRIFT_FRACTION = 0.1  # the first and last 10% of a stream, to show whether deviation grows
REFERENCE = "reference.npz"


@dataclass(frozen=True)
class Reference:
    """What every file is held to, in model units (computed by Keras at export)."""

    x_test: np.ndarray  # test windows (n, window, 1)
    window: np.ndarray  # Keras forecasts for them
    test_held: np.ndarray  # test windows within the range margin (where fixed-range files are held)
    stress_x: np.ndarray  # stretched and scaled test windows
    stress_window: np.ndarray  # Keras forecasts for them
    stress_step: np.ndarray  # the step weights' (often tuned apart) forecasts, from a zero state
    series: np.ndarray  # the whole stream
    stream: np.ndarray  # Keras forecast after every sample of it, from a zero state
    stream_held: np.ndarray  # steps whose last window of samples lies within the margin

    def save(self, path: Path) -> None:
        """Write as an .npz of its arrays."""
        with path.open("wb") as f:
            np.savez(f, **asdict(self))

    @classmethod
    def load(cls, path: Path) -> Reference:
        """Read what save() wrote."""
        with np.load(path) as data:
            arrays = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        arrays.setdefault("stress_step", arrays["stress_window"])  # exports before stream tuning
        return cls(**arrays)


@dataclass(frozen=True)
class Parity:
    """Deviation of one file's outputs from Keras's, in normalized model units.

    max_abs and rms cover the inputs the file is held to: every test input, or for a fixed-range
    (full int8) file those within the runtime's range margin. The stress inputs are held to the
    same bound; `outside` inputs are reported, not held.
    """

    max_abs: float
    rms: float
    tolerance: float
    passed: bool
    stress_max_abs: float
    outside: int = 0
    outside_max_abs: float | None = None

    def to_dict(self) -> dict:
        """The manifest/report form."""
        return asdict(self)


def compare(
    pred: np.ndarray,
    reference: np.ndarray,
    tolerance: float,
    held: np.ndarray | None = None,
    stress: tuple[np.ndarray, np.ndarray] | None = None,
) -> Parity:
    """Deviation of pred from reference where `held` (default everywhere), and on stress inputs."""
    dev = _dev(pred, reference)
    held = np.ones(len(dev), bool) if held is None else np.asarray(held, bool)
    inside, outside = dev[held], dev[~held]
    max_abs = float(inside.max()) if inside.size else 0.0
    stress_max = float(_dev(*stress).max()) if stress is not None else 0.0
    return Parity(
        max_abs=max_abs,
        rms=float(np.sqrt(np.mean(inside**2))) if inside.size else 0.0,
        tolerance=tolerance,
        passed=max_abs <= tolerance and stress_max <= tolerance,
        stress_max_abs=stress_max,
        outside=int(outside.size),
        outside_max_abs=float(outside.max()) if outside.size else None,
    )


def _dev(pred: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|pred - reference| of each forecast, (n,): of its worst output for a model of H > 1."""
    dev = np.abs(np.asarray(pred, np.float64) - np.asarray(reference, np.float64))
    return dev.reshape(len(dev), -1).max(axis=1)


def drift(pred: np.ndarray, reference: np.ndarray, held: np.ndarray | None = None) -> dict:
    """Max deviation over the start and the end of a stream (where held): equal orders mean no
    drift."""
    dev = np.where(np.ones(len(pred), bool) if held is None else held, _dev(pred, reference), 0)
    n = max(1, int(len(dev) * DRIFT_FRACTION))
    return {
        "start_max_abs": float(dev[:n].max()),
        "end_max_abs": float(dev[-n:].max()),
        "samples": len(dev),
    }


def check(
    model: LoadedModel, ref: Reference, tolerance: float, fixed_range: bool
) -> tuple[Parity, dict | None, np.ndarray]:
    """A loaded file against the reference: its parity, its drift (step files) and its raw
    forecasts (the test windows' for a window file, the stream's for a step file)."""
    if isinstance(model, WindowModel):
        pred = model.predict_model_units(ref.x_test)
        held = ref.test_held if fixed_range else None
        on_stress = (model.predict_model_units(ref.stress_x), ref.stress_window)
        return compare(pred, ref.window, tolerance, held, on_stress), None, pred
    assert isinstance(model, StepModel)
    pred = model.run_stream(ref.series)
    held = ref.stream_held if fixed_range else None
    on_stress = (model.run_windows(ref.stress_x), ref.stress_step)
    parity = compare(pred, ref.stream, tolerance, held, on_stress)
    return parity, drift(pred, ref.stream, held), pred


def parity_line(file: str, size: int, p: Parity) -> str:
    """One line of the gate's table, as the export and `runtime verify` print it."""
    outside = f", {p.outside} outside the range: {p.outside_max_abs:.1e}" if p.outside else ""
    return (
        f"{file:<30} {size:>8,} B  max dev {p.max_abs:.1e} stress {p.stress_max_abs:.1e} "
        f"(bound {p.tolerance:.0e})  {'ok' if p.passed else 'FAILED parity'}{outside}"
    )
