"""A file whose first recipe misses its bound is made by the next; a crashed conversion costs
one file."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from export.converter import Converter
from export.variants import BY_KEY, GPTQ, KERAS_CELLS, TWO_PASS
from tests.conftest import run_here

pytestmark = pytest.mark.tensorflow

# NAB's machine temperature, trained on its first 750 samples (as the fleet table does; its
# target is the one the default, auto, keeps there, so the same weights for half the training):
# rounded to nearest, its C int8 weights miss the bound on the stream (2.5e-2 > 1e-2) and so do
# its float16 step weights (1.7e-3 > 1e-3); its full-integer step file from fused cells misses
# too (5.3e-2 > 5e-2), and its dynamic-range step file, rounded to nearest (4.7e-2) or by GPTQ
# (1.1e-2 > 1e-2), until the state is multiplied in two passes (3.1e-3).
SERIES = (
    Path(__file__).resolve().parents[3]
    / "shared/nab/data/realKnownCause/machine_temperature_system_failure.csv"
)


@pytest.fixture(scope="module")
def hard_model(tmp_path_factory) -> Path:
    if not SERIES.is_file():
        pytest.skip(f"no {SERIES}")
    out = tmp_path_factory.mktemp("recipes") / "machine_temperature"
    res = run_here(
        "training",
        "--data",
        str(SERIES),
        "--column",
        "value",
        "--rows",
        "750",
        "--target",
        "change",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    return out


def test_a_file_whose_first_recipe_misses_is_made_by_the_next(hard_model):
    res = run_here(
        "export", "--dir", str(hard_model), "--variants", "int8,c_int8,float16,dynamic_int8",
        "--modes", "step",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "trying the next recipe" in res.stdout
    manifest = json.loads((hard_model / "manifest.json").read_text())
    entries = {f["file"]: f for f in manifest["files"]}
    for file, key, recipe in (
        ("c/forecaster_int8.c", "step:c_int8", GPTQ),
        ("step_int8.tflite", "step:int8", KERAS_CELLS),
        ("step_float16.tflite", "step:float16", GPTQ),
        ("step_dynamic_int8.tflite", "step:dynamic_int8", TWO_PASS),
    ):
        v, e = BY_KEY[key], entries[file]
        assert e["recipe"] == recipe and e["parity"]["passed"]
        assert max(e["parity"]["max_abs"], e["parity"]["stress_max_abs"]) <= v.tolerance
        # every recipe before it, in order, and how far each missed
        assert [t["recipe"] for t in e["tried"]] == list(v.recipes[: v.recipes.index(recipe)])
        for missed in e["tried"]:
            assert max(missed["max_abs"], missed["stress_max_abs"]) > v.tolerance
    report = (hard_model / "report.md").read_text()
    assert f"| c/forecaster_int8.c | {GPTQ} | rounded to nearest: " in report


def test_a_crashed_conversion_fails_its_file_and_the_next_one_converts(test_artifacts, tmp_path):
    """The child converting a file is killed: that file fails with the signal, the next file
    is converted by a new child, and nothing is left half-written."""
    variant = BY_KEY["step:float32"]
    with Converter(test_artifacts / "lstm") as converter:
        converter.start()
        child = converter.proc.pid
        threading.Timer(1.0, os.kill, (child, signal.SIGKILL)).start()  # while it imports
        error, _ = converter.convert(variant, tmp_path / "first.tflite")
        assert error == "the converter crashed (signal 9)"
        assert not (tmp_path / "first.tflite").exists()
        error, _ = converter.convert(variant, tmp_path / "second.tflite")
        assert error is None and converter.proc.pid != child
        assert (tmp_path / "second.tflite").stat().st_size > 10_000
