"""Data sources, windows, the time-ordered split and normalization on the training split only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from runtime.errors import UserError
from runtime.windows import make_windows
from tests.conftest import run_module
from training.config import TrainConfig
from training.data import load_series, split

pytestmark = pytest.mark.tensorflow


def test_sine_is_the_seed_series_and_windows_have_the_seed_shapes():
    cfg = TrainConfig()
    series = load_series(cfg).values
    np.testing.assert_array_equal(series, np.sin(np.linspace(0, 100, 1000)))
    sp = split(series, cfg)
    assert sp.x_train.shape == (760, 50, 1) and sp.y_train.shape == (760,)
    assert sp.x_test.shape == (190, 50, 1) and sp.y_test.shape == (190,)
    # each window is the 50 samples before its target, in time order, train before test
    z = sp.norm.apply(series)
    np.testing.assert_allclose(sp.x_test[0, :, 0], z[760:810], rtol=1e-6)
    np.testing.assert_allclose(sp.y_test[0], z[810], rtol=1e-6)
    assert sp.test_start == 810


def test_normalization_is_fitted_on_the_training_split_only():
    cfg = TrainConfig(data="sensor")
    series = load_series(cfg).values
    sp = split(series, cfg)
    train_part = series[: sp.test_start]
    assert sp.norm.center == pytest.approx((train_part.max() + train_part.min()) / 2)
    assert sp.norm.scale == pytest.approx((train_part.max() - train_part.min()) / 2)
    changed = series.copy()
    changed[sp.test_start :] *= 100  # nothing after the split may move the statistics
    assert split(changed, cfg).norm == sp.norm
    assert sp.x_train.min() == pytest.approx(-1, abs=1e-6)
    assert sp.x_train.max() <= 1 + 1e-6


def test_make_windows_matches_a_plain_loop():
    series = np.arange(20, dtype=np.float32)
    x, y = make_windows(series, 5)
    assert x.shape == (15, 5, 1)
    for i in range(15):
        np.testing.assert_array_equal(x[i, :, 0], series[i : i + 5])
        assert y[i] == series[i + 5]


def test_sensor_signal_is_seeded():
    a = load_series(TrainConfig(data="sensor", seed=3)).values
    b = load_series(TrainConfig(data="sensor", seed=3)).values
    c = load_series(TrainConfig(data="sensor", seed=4)).values
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.std(np.diff(a)) > 0.05  # noisy, not a pure tone


def test_weather_is_the_bundled_hourly_series():
    s = load_series(TrainConfig(data="weather"))
    assert len(s.values) == 8759 and s.column == "temp"
    assert 20 < s.values.min() < s.values.max() < 110  # Fahrenheit, Seattle 2010


def test_csv_column_is_read_in_order(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("t,temp\n" + "".join(f"{i},{i * 0.5}\n" for i in range(300)))
    s = load_series(TrainConfig(data=str(path), column="temp"))
    np.testing.assert_array_equal(s.values, np.arange(300) * 0.5)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            None,
            ["--column", "x"],
            "neither sine, drift, sensor, weather, stocks:MSFT|AMZN|IBM|GOOG|AAPL nor a file",
        ),
        ("a,b\n1,2\n", ["--column", "c"], "column 'c' is not in the CSV; its columns are: a, b"),
        ("a,b\n1,2\n", [], "name the one to read (--column NAME)"),
        ("a\n1\nx\n3\n\n", ["--column", "a"], "line 3: not a number: 'x'; line 5: empty line"),
        ("a\n" + "1\n" * 30, ["--column", "a"], "30 rows are too few for windows of 50"),
    ],
)
def test_bad_csv_gives_a_clear_error_and_exit_2(tmp_path, content, args, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "out"
    res = run_module("training", "--data", str(path), "--out", str(out), *args)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists() or not any(out.iterdir())


def test_unknown_option_value_is_refused():
    res = run_module("training", "--cell", "transformer")
    assert res.returncode == 2 and "invalid choice: 'transformer'" in res.stderr


def test_config_validates_values():
    with pytest.raises(UserError, match="--window must be at least 1"):
        TrainConfig(window=0)
    assert dataclasses.replace(TrainConfig(), units=8).units == 8


def test_a_flat_lined_series_is_refused_with_one_line(tmp_path):
    """A stuck sensor (NAB's art_flatline): nothing to learn, said in one line, exit 2."""
    with pytest.raises(UserError, match="are all 3 \\(a stuck or flat-lined sensor\\)"):
        split(np.full(400, 3.0), TrainConfig())
    path = tmp_path / "flat.csv"
    path.write_text("value\n" + "45\n" * 400)
    res = run_module("training", "--data", str(path), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not (tmp_path / "out" / "model.json").exists()
