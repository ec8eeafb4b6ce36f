"""Stream tuning keeps no weights that make the step files touchy."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow


def touchy_setup(gain: float):
    """A small sequence model whose recurrent kernel is scaled by `gain`, and a stress set."""
    import keras

    from training.config import TrainConfig
    from training.model import build_model
    from training.streaming import stressed_validation

    keras.utils.set_random_seed(0)  # the same random model whichever test runs first
    cfg = TrainConfig(window=20, units=32, stream_epochs=2, batch_size=64)
    model = build_model(cfg)
    kernel = model.layers[0].cell.recurrent_kernel
    kernel.assign(kernel.numpy() * gain)
    series = np.sin(np.arange(600) / 7.0).astype(np.float32)
    return cfg, model, series, stressed_validation(series, cfg)


def test_rounding_a_high_gain_state_moves_stressed_forecasts_past_the_budget():
    from training.model import build_model
    from training.streaming import touchy

    for gain, past in ((1.0, False), (12.0, True)):
        cfg, model, _, stressed = touchy_setup(gain)
        seq = build_model(cfg, sequences=True)
        seq.set_weights(model.get_weights())
        assert (touchy(seq, stressed) is not None) == past, gain


def test_tuning_that_only_finds_touchy_weights_leaves_the_window_weights():
    from training.streaming import tune_for_streaming

    cfg, model, series, _ = touchy_setup(12.0)
    model.layers[-1].bias.assign([10.0])  # forecasts far off: tuning improves them
    lines: list[str] = []
    # the training stream and the output due after each of its samples (the next one)
    sp = SimpleNamespace(train_series=series, train_outputs=series[1:])
    tuned, info = tune_for_streaming(model, sp, cfg, lines.append)
    improved = [line for line in lines[1:] if "not kept" in line]
    assert tuned is None and info["best_epoch"] == 0
    assert info["too_sensitive"] == len(improved) > 0
