"""How a model is trained: on sequences, tuned for the step files, for the level or its change."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.make_artifacts import MODELS
from tests.training.tiny import train

pytestmark = pytest.mark.tensorflow


def test_sequence_training_gives_a_window_model_with_the_same_layers(tmp_path):
    res = train(tmp_path, "--sequence-length", "100")
    assert "fitted on sequences of 100" in res.stdout
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["training"]["sequence_length"] == 100
    assert np.load(tmp_path / "windows.npz")["test_pred"].shape == (70,)


def test_step_weights_are_tuned_for_streaming_and_scored_over_the_whole_stream(tmp_path):
    """A copy tuned on long sequences makes the step files; model.json says so."""
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


def test_a_change_model_follows_a_series_out_of_its_training_range(test_artifacts):
    """The sine drifting up by one amplitude; its test part lies above the training
    range. The model's series is the normalized steps; the skill is far above persistence.
    The drift test model is that model (tests/make_artifacts.py trains it, and fails if it
    cannot)."""
    drift = test_artifacts / "drift"
    assert MODELS["drift"][:4] == ["--data", "drift", "--target", "change"]
    meta = json.loads((drift / "model.json").read_text())
    w = np.load(drift / "windows.npz")
    norm = meta["normalization"]
    steps = np.diff(w["values"])
    np.testing.assert_allclose(w["series"], (steps - norm["center"]) / norm["scale"], atol=1e-6)
    assert meta["metrics"]["skill"] > 0.5
    # persistence: the sample before each test target, on the samples themselves
    start = meta["data"]["test_start"] + 1
    baseline = np.mean((w["values"][start - 1 : -1] - w["values"][start:]) ** 2)
    assert meta["metrics"]["baseline_mse"] == pytest.approx(baseline, rel=1e-6)
