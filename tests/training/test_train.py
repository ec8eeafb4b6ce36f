"""Real (tiny) training runs: files, metadata, reproducibility, nothing lost on failure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_here, run_module

pytestmark = pytest.mark.tensorflow
TINY = [
    "--rows",
    "400",
    "--units",
    "8",
    "--epochs",
    "2",
    "--stream-epochs",
    "1",
    "--target",
    "level",
]


def train(out, *args, run=run_here):
    res = run("training", "--out", str(out), *TINY, *args)
    assert res.returncode == 0, res.stderr
    return res


def test_training_writes_model_metadata_windows_and_plots(tmp_path):
    res = train(tmp_path, run=run_module)  # a process of its own: its start-up is checked
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
    """A random walk with a trend: its test part leaves the training range (issue 13)."""
    walk = np.cumsum(np.random.default_rng(0).normal(0.3, 1.0, 400)) + 100
    csv = tmp_path / "walk.csv"
    csv.write_text("price\n" + "".join(f"{v:.4f}\n" for v in walk))
    res = train(tmp_path / "out", "--data", str(csv), "--column", "price", "--window", "12")
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["metrics"]["skill"] < 0.1
    warning = res.stdout.strip().splitlines()[-1]
    assert warning.startswith(f"warning: skill {meta['metrics']['skill']:.2f}: the model is worse")
    assert "the test part reaches" in warning


def test_same_seed_same_predictions_other_seed_differs(tmp_path):
    """The same seed in a process of its own and after other runs in this one: the same model."""
    for name, seed, run in (("a", "5", run_module), ("b", "5", run_here), ("c", "6", run_here)):
        train(tmp_path / name, "--seed", seed, run=run)
    a, b, c = (np.load(tmp_path / n / "windows.npz")["test_pred"] for n in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_gru_and_stacked_layers(tmp_path):
    train(tmp_path, "--cell", "gru", "--layers", "2")
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["model"]["cell"] == "gru" and meta["model"]["layers"] == 2


def test_a_failed_run_keeps_what_was_in_out(tmp_path):
    train(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = tmp_path.parent / "bad.csv"
    bad.write_text("v\n" + "1\n" * 100 + "oops\n")
    res = run_here("training", "--data", str(bad), "--column", "v", "--out", str(tmp_path))
    assert res.returncode == 2 and "line 102: not a number: 'oops'" in res.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_compare_writes_a_table_and_a_plot(tmp_path):
    args = ["--rows", "300", "--epochs", "1", "--stream-epochs", "0", "--target", "level"]
    res = run_here("training", "compare", "--out", str(tmp_path), *args)
    assert res.returncode == 0, res.stderr
    table = (tmp_path / "compare.md").read_text()
    assert table.count("| lstm |") == 4 and table.count("| gru |") == 4
    assert (tmp_path / "compare.png").stat().st_size > 0


def test_sequence_training_gives_a_window_model_with_the_same_layers(tmp_path):
    res = train(tmp_path, "--sequence-length", "100")
    assert "fitted on sequences of 100" in res.stdout
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["training"]["sequence_length"] == 100
    assert np.load(tmp_path / "windows.npz")["test_pred"].shape == (70,)


def test_step_weights_are_tuned_for_streaming_and_scored_over_the_whole_stream(tmp_path):
    """Issue 13: a copy tuned on long sequences makes the step files; model.json says so."""
    import keras

    res = train(tmp_path, "--stream-epochs", "3")
    meta = json.loads((tmp_path / "model.json").read_text())
    tuning = meta["stream"]
    assert tuning["file"] == "stream.keras" and res.stdout.count("stream tuning ") == 4
    assert tuning["val_stream_mse_after"] < tuning["val_stream_mse_before"]
    # step_test_mse: the tuned weights run over the whole stream from a zero state
    tuned = keras.saving.load_model(tmp_path / "stream.keras", compile=False)
    w = np.load(tmp_path / "windows.npz")
    cfg = tuned.get_config()
    cfg["layers"][0]["config"]["batch_shape"] = [None, None, 1]
    cfg["layers"][1]["config"]["return_sequences"] = True
    seq = keras.Sequential.from_config(cfg)
    seq.set_weights(tuned.get_weights())
    stream = seq.predict(w["series"][None, :-1, None], verbose=0).reshape(-1)
    s = meta["normalization"]["scale"]
    test = stream[meta["data"]["test_start"] - 1 :]
    mse = np.mean(((test - w["test_y"]) * s) ** 2)
    assert meta["metrics"]["step_test_mse"] == pytest.approx(mse, rel=1e-3)
    # without tuning the step files use the window weights, and the old tuned file goes
    train(tmp_path, "--stream-epochs", "0")
    assert json.loads((tmp_path / "model.json").read_text())["stream"]["file"] is None
    assert not (tmp_path / "stream.keras").exists()


def test_auto_target_trains_both_and_keeps_the_one_that_validates_better(tmp_path):
    res = train(tmp_path, "--data", "drift", "--target", "auto")
    meta = json.loads((tmp_path / "model.json").read_text())
    scores = meta["target"]["val_mse"]
    assert meta["target"]["asked"] == "auto" and set(scores) == {"level", "change"}
    assert meta["target"]["chosen"] == min(scores, key=scores.get)
    assert meta["normalization"]["target"] == meta["target"]["chosen"]
    assert meta["metrics"]["val_mse"] == scores[meta["target"]["chosen"]]
    assert "target auto: validation MSE level" in res.stdout


def test_a_change_model_follows_a_series_out_of_its_training_range(tmp_path):
    """Issue 13: the sine drifting up by one amplitude; its test part lies above the training
    range. The model's series is the normalized steps; the skill is far above persistence."""
    args = ["--data", "drift", "--target", "change", "--units", "16", "--epochs", "6"]
    res = run_here("training", "--out", str(tmp_path), *args)
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "model.json").read_text())
    w = np.load(tmp_path / "windows.npz")
    norm = meta["normalization"]
    steps = np.diff(w["values"])
    np.testing.assert_allclose(w["series"], (steps - norm["center"]) / norm["scale"], atol=1e-6)
    assert meta["metrics"]["skill"] > 0.5
    # persistence: the sample before each test target, on the samples themselves
    start = meta["data"]["test_start"] + 1
    baseline = np.mean((w["values"][start - 1 : -1] - w["values"][start:]) ** 2)
    assert meta["metrics"]["baseline_mse"] == pytest.approx(baseline, rel=1e-6)
