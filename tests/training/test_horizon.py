"""The long-horizon benchmark's parts (make horizon-table runs them whole on ETTh1): its windows
are the protocol's, its NLinear gives the published numbers, and the exported files of the test
model of the next 4 samples are scored through the runtime."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.sources import read_csv_column
from training.horizon import (
    ETTH1,
    FILES,
    PUBLISHED,
    Protocol,
    markdown,
    nlinear,
    persistence,
    step_forecasts,
    window_forecasts,
)

needs_ett = pytest.mark.skipif(not ETTH1.is_file(), reason=f"no {ETTH1}")


def etth1() -> Protocol:
    samples = read_csv_column(ETTH1, "OT")[:14400]
    return Protocol.of(np.array([s.values[0] for s in samples]))


@needs_ett
def test_the_windows_are_the_protocols():
    p = etth1()
    assert (p.test_start, len(p.starts(96)), len(p.starts(336))) == (11520, 2785, 2545)
    # persistence on them, as ../shared/ett/README.md has it
    assert p.score(persistence(p, 96), 96)["mse"] == pytest.approx(0.0693, abs=5e-5)
    assert p.score(persistence(p, 336), 336)["mse"] == pytest.approx(0.1133, abs=5e-5)


@needs_ett
def test_nlinear_fitted_here_gives_the_published_numbers():
    p = etth1()
    for h, published in ((96, PUBLISHED["NLinear"][0]), (720, PUBLISHED["NLinear"][3])):
        assert p.score(nlinear(p, h), h)["mse"] == pytest.approx(published, abs=1e-3)


def test_the_files_are_scored_through_the_runtime(test_artifacts):
    folder = test_artifacts / "horizon"
    values = np.load(folder / "windows.npz")["values"]
    p = Protocol.of(values)
    result = {"persistence": p.score(persistence(p, 4), 4), "nlinear": {}, "files": {}}
    result["nlinear"] = p.score(nlinear(p, 4, history=60), 4)
    result["params"] = 1
    for key in FILES:
        mode, _, variant = key.rpartition(":")
        run = step_forecasts if mode == "step" else window_forecasts
        pred, us = run(folder, variant, p, 4)
        assert pred.shape == (len(p.starts(4)), 4)
        result["files"][key] = p.score(pred, 4) | {"us": us, "bytes": 1}
        # a model of the sine beats repeating the last value
        assert result["files"][key]["mse"] < result["persistence"]["mse"], key
    table = markdown("sine", p, {4: result})
    assert table.count("\n| 4 |") == 2 and "Measured at" in table
