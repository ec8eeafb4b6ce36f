"""Series sources (sine, drift, sensor, weather, stocks, CSV) and the windows made from them."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from runtime.errors import UserError
from runtime.signals import SensorSignal, sine
from runtime.sources import read_csv_column
from runtime.windows import (
    TARGETS,
    Normalization,
    largest_change,
    make_windows,
    outputs,
    split_point,
)

from .config import TrainConfig

SENSOR_SAMPLES = 4000
WEATHER_COLUMN = "temp"
STOCKS = ("MSFT", "AMZN", "IBM", "GOOG", "AAPL")  # vega_datasets' stocks.csv, monthly prices


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
    test_start: int  # index in the model series of the first test target
    train_series: np.ndarray  # the model series (model units) the training windows cover
    test_last: np.ndarray  # the sample before each test target (data units)
    # the model's outputs due after each input of train_series (model units; data.outputs)
    train_outputs: np.ndarray

    def levels(self, y: np.ndarray) -> np.ndarray:
        """Model outputs for the test targets -> forecasts of the samples (data units)."""
        return self.norm.forecast(y, self.test_last)


def sequences(
    series: np.ndarray, targets: np.ndarray, length: int, stride: int
) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping sequences (n, length, 1) of a model series and the outputs due after each of
    their steps (n, length, H), from `targets` (windows.outputs: row t due after series[t])."""
    n = len(targets)
    x, _ = make_windows(series[:n], length)
    rows = np.asarray(targets, np.float32).reshape(n, -1)
    y = np.lib.stride_tricks.sliding_window_view(rows, length, axis=0)[: n - length]
    return x[::stride], np.ascontiguousarray(y.transpose(0, 2, 1)[::stride])


def vega_csv(name: str) -> Path:
    """A CSV bundled with vega_datasets (offline)."""
    import vega_datasets

    return Path(vega_datasets.__file__).parent / "_data" / name


def weather_csv() -> Path:
    """The bundled seattle-temps.csv (hourly temperatures, 2010)."""
    return vega_csv("seattle-temps.csv")


def stock_prices(symbol: str) -> np.ndarray:
    """One symbol's monthly closing prices from vega_datasets' stocks.csv (2000-2010)."""
    with vega_csv("stocks.csv").open(newline="") as f:
        return np.array([float(r["price"]) for r in csv.DictReader(f) if r["symbol"] == symbol])


def load_series(cfg: TrainConfig) -> Series:
    """The series named by cfg.data, cut to cfg.rows if given."""
    if cfg.data == "sine":
        series = Series(sine(), "sine", None)
    elif cfg.data == "drift":  # the sine drifting up by one amplitude: it leaves its range
        values = sine()
        series = Series(values + np.linspace(0, 1, len(values)), "drift", None)
    elif cfg.data.startswith("stocks:") and cfg.data[7:] in STOCKS:
        series = Series(stock_prices(cfg.data[7:]), cfg.data, "price")
    elif cfg.data == "sensor":
        series = Series(SensorSignal().generate(SENSOR_SAMPLES, seed=cfg.seed), "sensor", None)
    elif cfg.data == "weather":
        series = Series(_csv(weather_csv(), WEATHER_COLUMN), "weather", WEATHER_COLUMN)
    else:
        path = Path(cfg.data)
        if not path.exists():
            raise UserError(
                f"--data {cfg.data!r} is neither sine, drift, sensor, weather, "
                f"stocks:{'|'.join(STOCKS)} nor a file"
            )
        series = Series(_csv(path, cfg.column), str(path), cfg.column)
    if cfg.rows:
        series.values = series.values[: cfg.rows]
    return series


def targets(cfg: TrainConfig) -> tuple[str, ...]:
    """The targets training fits: cfg.target, or with "auto" each of them."""
    return TARGETS if cfg.target == "auto" else (cfg.target,)


def checked_series(cfg: TrainConfig) -> Series:
    """The series, refused (UserError) where splitting it for any target would refuse it: the
    CLI calls this before it imports TensorFlow, so bad data is answered at once."""
    series = load_series(cfg)
    for target in targets(cfg):
        split(series.values, replace(cfg, target=target))
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


def split(values: np.ndarray, cfg: TrainConfig) -> Split:
    """Time-ordered windows of the model series (the samples, or their steps for cfg.target
    "change"); normalization fitted on the part the training windows cover. A training window's
    horizon ends before the first test target."""
    series = Normalization.model_series(values, cfg.target)
    lead = len(values) - len(series)
    n_windows = len(series) - cfg.window - (cfg.horizon - 1)
    first_test = split_point(n_windows, cfg.test_fraction)
    n_train = first_test - (cfg.horizon - 1)
    min_train = max(cfg.batch_size, 10)
    if n_windows < 2 or n_train < min_train or first_test >= n_windows:
        need = cfg.window + cfg.horizon + int(np.ceil(min_train / (1 - cfg.test_fraction))) + lead
        raise UserError(
            f"{len(values)} rows are too few for windows of {cfg.window}"
            + (f", a horizon of {cfg.horizon}" if cfg.horizon > 1 else "")
            + f" and a {cfg.test_fraction:.0%} test split: need at least {need} rows"
        )
    test_start = first_test + cfg.window
    trained_on = series[:test_start]
    if np.ptp(trained_on) == 0:
        raise UserError(
            f"{cfg.data}: the {len(trained_on) + lead} samples training would learn from are "
            f"all {values[0]:g} (a stuck or flat-lined sensor): there is nothing to learn; train "
            "on a part of the series that varies (--rows), or flag any departure from that value"
        )
    norm = Normalization.fit(trained_on, cfg.target)
    if cfg.target == "change" and cfg.horizon > 1:
        norm = replace(norm, horizon_scale=largest_change(values[: test_start + lead], cfg.horizon))
    z = norm.apply(series).astype(np.float32)
    x, _ = make_windows(z, cfg.window)
    y = outputs(norm, values, cfg.horizon)[cfg.window - 1 :]
    x = x[:n_windows]
    return Split(
        norm,
        x[:n_train],
        y[:n_train],
        x[first_test:],
        y[first_test:],
        test_start,
        z[:test_start],
        np.asarray(values, np.float64)[test_start + norm.lead - 1 : len(values) - cfg.horizon],
        outputs(norm, values[: test_start + lead], cfg.horizon),
    )
