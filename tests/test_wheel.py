"""The runtime as a package: the standard front end's wheel, and `pip install .`, in fresh venvs."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO

EXAMPLE = """
import numpy as np
from runtime import Stream, open_model

model = open_model(ARTIFACTS, variant="dynamic_int8")
stream = Stream(model)
for reading in np.sin(np.linspace(0, 10, 100)):
    forecast = stream.push(float(reading))
print(f"next: {forecast:.3f}")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run(
        [sys.executable, "-m", "release", "--out", str(out)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    return out / res.stdout.strip().rsplit("/", 1)[-1]


def test_the_wheel_holds_the_runtime_alone_under_its_one_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    package = {n.split("/", 1)[1] for n in names if n.startswith("runtime/")}
    sources = [p for p in (REPO / "runtime").rglob("*") if p.is_file()]
    tracked = [p for p in sources if "__pycache__" not in p.parts]
    assert package == {str(p.relative_to(REPO / "runtime")) for p in tracked}
    assert {"cli/stream.py", "serve/service.py", "serve/static/index.html"} <= package
    assert all(n.startswith(("runtime/", "edge_forecaster_runtime-")) for n in names)
    info = next(n for n in names if n.endswith(".dist-info/METADATA"))
    meta = zipfile.ZipFile(wheel).read(info).decode()
    for extra in ("litert", "tflite", "onnx", "serial", "mqtt"):
        assert f"Provides-Extra: {extra}" in meta
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "edge-forecast = runtime.cli:cli" in zipfile.ZipFile(wheel).read(entry).decode()


def test_the_same_sources_build_the_same_wheel(wheel, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "release", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / wheel.name).read_bytes() == wheel.read_bytes()


def test_pip_install_of_the_sources_gives_the_same_package(test_artifacts, tmp_path):
    """`pip install .` (PEP 517, no extra): numpy alone, the numpy file, no TensorFlow."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check"]
    res = subprocess.run([*pip, str(REPO)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    code = (
        "import sys, runtime; from runtime import Stream, open_model; "
        f"m = open_model({str(test_artifacts / 'lstm')!r}, 'numpy'); print(m.backend.name, "
        "runtime.__file__.count('site-packages'), 'tensorflow' in sys.modules)"
    )
    run = subprocess.run(
        [str(venv / "bin/python"), "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["numpy", "1", "False"]


def test_a_fresh_venv_with_the_litert_extra_runs_the_cli_and_the_example(
    wheel, test_artifacts, tmp_path
):
    """From outside the repository: nothing of the source tree can be imported."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check"]
    res = subprocess.run([*pip, f"{wheel}[litert]"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    lstm = test_artifacts / "lstm"
    info = subprocess.run(
        [str(venv / "bin/edge-forecast"), "info", str(lstm)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert info.returncode == 0, info.stderr
    assert "model_dynamic_int8.tflite" in info.stdout and "runs on litert" in info.stdout
    example = EXAMPLE.replace("ARTIFACTS", repr(str(lstm)))
    run = subprocess.run(
        [str(venv / "bin/python"), "-c", example], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("next: ")
    usage = subprocess.run(
        [str(venv / "bin/edge-forecast"), "stream", "--rate", "-1"], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "(see edge-forecast stream --help)" in usage.stderr
    # serve without its extra: what to install, in one line, before any connection is tried
    serve = subprocess.run(
        [str(venv / "bin/edge-forecast"), "serve", "--model", str(lstm), "--mqtt", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serve.returncode == 2 and serve.stderr.count("\n") == 1, serve.stderr
    assert "serve needs paho-mqtt" in serve.stderr and "[mqtt] extra" in serve.stderr
