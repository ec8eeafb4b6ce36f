"""Real (tiny) training runs: files, metadata, reproducibility, nothing lost on failure."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import run_here, run_module
from tests.training.tiny import train
from training.config import TrainConfig

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def own_process(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A tiny training in a process of its own (its start-up is checked): output and folder."""
    out = tmp_path_factory.mktemp("own-process")
    return train(out, run=run_module), out


def test_training_writes_model_metadata_windows_and_plots(own_process):
    res, tmp_path = own_process
    assert res.stdout.count("epoch ") == 2 and "test MSE" in res.stdout
    assert res.stderr == ""  # no TensorFlow start-up noise
    for name in ("model.keras", "model.json", "windows.npz", "history.png", "predictions.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["window"] == 50
    lstm_params = 4 * (8 * (8 + 1) + 8)  # four gates: input and recurrent kernels, bias
    assert meta["model"] == {"cell": "lstm", "units": 8, "layers": 1, "params": lstm_params + 9}
    assert meta["data"]["rows"] == 400 and len(meta["data"]["sha256"]) == 64
    assert set(meta["metrics"]) == {
        "train_mse",
        "val_mse",
        "test_mse",
        "baseline_mse",
        "skill",
        "step_test_mse",
    }
    assert {"epochs", "batch_size", "seed", "seconds"} <= set(meta["training"])
    assert {"tensorflow", "keras", "numpy"} <= set(meta["versions"])
    w = np.load(tmp_path / "windows.npz")
    assert w["test_x"].shape == (70, 50, 1) and w["test_y"].shape == (70,)
    # the metric is in data units: recompute it from the stored predictions
    c, s = meta["normalization"]["center"], meta["normalization"]["scale"]
    mse = np.mean(((w["test_pred"] - w["test_y"]) * s) ** 2)
    assert meta["metrics"]["test_mse"] == pytest.approx(mse, rel=1e-4)
    assert c == pytest.approx(0, abs=1e-2)
    baseline = np.mean(((w["test_x"][:, -1, 0] - w["test_y"]) * s) ** 2)  # the last value
    assert meta["metrics"]["baseline_mse"] == pytest.approx(baseline, rel=1e-4)
    assert meta["metrics"]["skill"] == pytest.approx(1 - mse / baseline, rel=1e-3)


def test_a_model_that_loses_to_the_last_value_is_warned_about(tmp_path):
    """A random walk with a trend: its test part leaves the training range."""
    walk = np.cumsum(np.random.default_rng(0).normal(0.3, 1.0, 400)) + 100
    csv = tmp_path / "walk.csv"
    csv.write_text("price\n" + "".join(f"{v:.4f}\n" for v in walk))
    res = train(tmp_path / "out", "--data", str(csv), "--column", "price", "--window", "12")
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["metrics"]["skill"] < 0.1
    warning = res.stdout.strip().splitlines()[-1]
    assert warning.startswith(f"warning: skill {meta['metrics']['skill']:.2f}: the model is worse")
    assert "the test part reaches" in warning


def test_same_seed_same_predictions_other_seed_differs(own_process, tmp_path):
    """The same seed (the default) in a process of its own and after other runs in this one:
    the same model."""
    seed = TrainConfig().seed
    folders = [own_process[1], tmp_path / "same", tmp_path / "other"]
    train(folders[1], "--seed", str(seed))
    train(folders[2], "--seed", str(seed + 1))
    a, b, c = (np.load(d / "windows.npz")["test_pred"] for d in folders)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_gru_and_stacked_layers(tmp_path):
    train(tmp_path, "--cell", "gru", "--layers", "2")
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["model"]["cell"] == "gru" and meta["model"]["layers"] == 2


def test_a_failed_run_keeps_what_was_in_out(own_process, tmp_path):
    shutil.copytree(own_process[1], tmp_path, dirs_exist_ok=True)  # a finished run's files
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = tmp_path.parent / "bad.csv"
    bad.write_text("v\n" + "1\n" * 100 + "oops\n")
    res = run_here("training", "--data", str(bad), "--column", "v", "--out", str(tmp_path))
    assert res.returncode == 2 and "line 102: not a number: 'oops'" in res.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
