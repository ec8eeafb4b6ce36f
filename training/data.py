"""Series sources (sine, sensor, weather, CSV) and the train/test windows made from them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import UserError
from runtime.signals import SensorSignal, sine
from runtime.sources import read_csv_column
from runtime.windows import Normalization, make_windows, split_point

from .config import TrainConfig

SENSOR_SAMPLES = 4000
WEATHER_COLUMN = "temp"


@dataclass
class Series:
    """A loaded series with where it came from."""

    values: np.ndarray
    source: str
    column: str | None

    def describe(self) -> dict:
        """The `data` entry of model.json."""
        digest = hashlib.sha256(np.ascontiguousarray(self.values, dtype=np.float64)).hexdigest()
        return {
            "source": self.source,
            "column": self.column,
            "rows": len(self.values),
            "sha256": digest,
        }


@dataclass
class Split:
    """Normalized train and test windows plus the normalization fitted on the train part."""

    norm: Normalization
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_start: int  # index in the series of the first test target
    train_series: np.ndarray  # the normalized samples the training windows cover


def sequences(series: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping sequences (n, length, 1) and their next samples at every step (n, length, 1)."""
    x, _ = make_windows(series[:-1], length)
    y, _ = make_windows(series[1:], length)
    return x[::stride], y[::stride]


def weather_csv() -> Path:
    """The bundled seattle-temps.csv (hourly temperatures, 2010) from vega_datasets, offline."""
    import vega_datasets

    return Path(vega_datasets.__file__).parent / "_data" / "seattle-temps.csv"


def load_series(cfg: TrainConfig) -> Series:
    """The series named by cfg.data, cut to cfg.rows if given."""
    if cfg.data == "sine":
        series = Series(sine(), "sine", None)
    elif cfg.data == "sensor":
        series = Series(SensorSignal().generate(SENSOR_SAMPLES, seed=cfg.seed), "sensor", None)
    elif cfg.data == "weather":
        series = Series(_csv(weather_csv(), WEATHER_COLUMN), "weather", WEATHER_COLUMN)
    else:
        path = Path(cfg.data)
        if not path.exists():
            raise UserError(f"--data {cfg.data!r} is neither sine, sensor, weather nor a file")
        series = Series(_csv(path, cfg.column), str(path), cfg.column)
    if cfg.rows:
        series.values = series.values[: cfg.rows]
    return series


def _csv(path: Path, column: str | None) -> np.ndarray:
    samples = read_csv_column(path, column)
    bad = [s for s in samples if s.values is None]
    if bad:
        where = "; ".join(f"line {s.line}: {s.error}" for s in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise UserError(
            f"{path}: {len(bad)} bad value(s) in column {column!r}: {where}{more}. "
            "Fix or remove those rows; training needs every value."
        )
    return np.array([s.values[0] for s in samples], dtype=np.float64)


def split(series: np.ndarray, cfg: TrainConfig) -> Split:
    """Time-ordered windows; normalization fitted on the samples the training windows cover."""
    n_windows = len(series) - cfg.window
    first_test = split_point(n_windows, cfg.test_fraction)
    min_train = max(cfg.batch_size, 10)
    if n_windows < 2 or first_test < min_train or first_test >= n_windows:
        need = cfg.window + int(np.ceil(min_train / (1 - cfg.test_fraction))) + 1
        raise UserError(
            f"{len(series)} rows are too few for windows of {cfg.window} and a "
            f"{cfg.test_fraction:.0%} test split: need at least {need} rows"
        )
    norm = Normalization.fit(series[: first_test + cfg.window])
    z = norm.apply(series).astype(np.float32)
    x, y = make_windows(z, cfg.window)
    test_start = first_test + cfg.window
    return Split(
        norm,
        x[:first_test],
        y[:first_test],
        x[first_test:],
        y[first_test:],
        test_start,
        z[:test_start],
    )
