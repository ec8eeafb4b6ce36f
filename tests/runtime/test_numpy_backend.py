"""The numpy backend: the float32 weights run with numpy alone, where no interpreter exists."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from runtime import Stream, open_model
from tests.conftest import PYTHON, REPO

from .conftest import MODELS

# A process in which no interpreter package can be found, as on 32-bit Raspberry Pi OS
NO_INTERPRETERS = (
    "import sys\n"
    "for name in ('ai_edge_litert', 'tflite_runtime', 'onnxruntime'):\n"
    "    sys.modules[name] = None\n"
    "from runtime.cli import cli\n"
    "sys.argv = ['runtime', *sys.argv[1:]]\n"
    "cli()\n"
)


@pytest.mark.parametrize("model", MODELS)
def test_the_weights_file_is_listed_and_held_to_the_float32_bound(test_artifacts, model):
    folder = test_artifacts / model
    if not folder.is_dir():
        pytest.skip(f"no test model {model}")
    files = json.loads((folder / "manifest.json").read_text())["files"]
    numpy_files = {f["mode"]: f for f in files if f["format"] == "numpy"}
    assert set(numpy_files) == {"window", "step"}
    for f in numpy_files.values():
        assert f["parity"]["passed"] and f["parity"]["tolerance"] == 1e-5
        assert len(f["sha256"]) == 64 and f["bytes"] == (folder / f["file"]).stat().st_size


def test_without_any_interpreter_stream_runs_the_numpy_file(lstm_dir):
    values = np.load(lstm_dir / "windows.npz")["values"][:80]
    text = "".join(f"{float(v)!r}\n" for v in values)
    cmd = [*PYTHON, "-c", NO_INTERPRETERS, "stream", "--model", str(lstm_dir)]
    res = subprocess.run(cmd, input=text, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "(numpy " in res.stderr.splitlines()[-1] and "file on numpy)" in res.stderr
    got = [float(r.split(",")[-1]) for r in res.stdout.splitlines()[1:] if r.split(",")[-1]]
    stream = Stream(open_model(lstm_dir, "numpy"))
    want = [p for p in (stream.push(float(v)) for v in values) if p is not None]
    np.testing.assert_allclose(got, want, rtol=1e-5)  # the CSV has 6 significant digits


def test_without_any_interpreter_a_tflite_variant_says_what_to_do(lstm_dir):
    cmd = [*PYTHON, "-c", NO_INTERPRETERS, "stream", "--model", str(lstm_dir)]
    res = subprocess.run(
        [*cmd, "--variant", "int8", "--input", "sim", "--count", "3"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "pip install ai-edge-litert or tflite-runtime, or run the numpy files" in res.stderr
