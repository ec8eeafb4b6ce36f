"""A real fleet: three small series trained and exported on real Dask clusters (a LocalCluster,
and a `dask scheduler` and `dask worker` started as processes on loopback); a stuck one refused."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fleet.run import JOB_FILE, complete
from tests.conftest import REPO, run_module

pytestmark = pytest.mark.tensorflow

# small and fast: a real model, not an accurate one
TINY = ["--window", "20", "--units", "8", "--epochs", "2", "--stream-epochs", "0"]
TINY += ["--target", "level", "--variants", "float32,int8", "--modes", "step", "--no-progress"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three CSVs as NAB lays them out: a sine, a noisy ramp, a stuck sensor."""
    root = tmp_path_factory.mktemp("series")
    t = np.arange(400)
    rng = np.random.default_rng(0)
    series = {
        "good/sine": np.sin(t / 8),
        "good/ramp": t / 100 + rng.normal(0, 0.1, len(t)),
        "stuck/flat": np.full(len(t), 3.0),
    }
    for name, values in series.items():
        path = root / f"{name}.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            "timestamp,value\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(values))
        )
    return root


def fleet(inputs: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return run_module("fleet", str(inputs), "--out", str(out), *TINY, *args, timeout=600)


def check_fleet(out: Path) -> dict:
    """The two good series exported within their bounds, the stuck one reported."""
    report = json.loads((out / "fleet.json").read_text())
    rows = {r["series"]: r for r in report["series"]}
    assert set(rows) == {"good/sine", "good/ramp", "stuck/flat"}
    assert "are all 3 (a stuck or flat-lined sensor)" in rows["stuck/flat"]["error"]
    for name in ("good/sine", "good/ramp"):
        assert rows[name]["error"] is None
        assert rows[name]["held"] == len(rows[name]["files"]) == 2
        assert (out / name / "step_int8.tflite").is_file()
        assert (out / name / "manifest.json").is_file()
    summary = {f["file"]: f for f in report["files"]}
    assert summary["step_int8.tflite"]["held"] == summary["step_int8.tflite"]["series"] == 2
    md = (out / "fleet.md").read_text()
    assert "| step_float32.tflite | 1e-05 | 2 / 2 |" in md
    assert "stuck/flat" in md
    return rows


@pytest.fixture(scope="module")
def first_run(inputs: Path, tmp_path_factory: pytest.TempPathFactory):
    """The fleet on a LocalCluster of two worker processes, from nothing: its output and its
    folder, which each test copies before changing it."""
    out = tmp_path_factory.mktemp("fleet")
    return fleet(inputs, out, "--workers", "2"), out


def test_fleet_on_a_local_cluster_resumes(inputs: Path, first_run, tmp_path: Path) -> None:
    """The stuck series fails alone (exit 1, its reason in its row); a second run trains
    nothing it already has."""
    res, first = first_run
    assert res.returncode == 1, res.stderr
    assert "3 series, 0 already done, 3 to train" in res.stdout
    assert "2 of 3 series trained and exported" in res.stdout
    shutil.copytree(first, tmp_path, dirs_exist_ok=True)
    check_fleet(tmp_path)
    model = tmp_path / "good/sine/step_int8.tflite"
    before = model.stat().st_mtime_ns
    res = fleet(inputs, tmp_path, "--workers", "2")
    assert "3 series, 2 already done, 1 to train" in res.stdout, res.stdout
    assert model.stat().st_mtime_ns == before
    check_fleet(tmp_path)
    # another input or other settings are not taken for finished work, nor a damaged file
    folder = tmp_path / "good/sine"
    key = json.loads((folder / JOB_FILE).read_text())
    assert complete(folder, key)
    assert not complete(folder, key | {"train_args": [*key["train_args"], "--epochs", "3"]})
    assert not complete(folder, key | {"input_sha256": "0" * 64})
    model.write_bytes(model.read_bytes()[:-1] + b"x")
    assert not complete(folder, key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fleet_on_a_separately_started_cluster(inputs: Path, first_run, tmp_path: Path) -> None:
    """`dask scheduler` and `dask worker` as their own processes, as on a real cluster: they
    train the series the first run's folder lacks (one good series taken away) and the stuck one."""
    shutil.copytree(first_run[1], tmp_path, dirs_exist_ok=True)
    shutil.rmtree(tmp_path / "good/ramp")
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": REPO}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker = subprocess.Popen(
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], **quiet
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        res = fleet(inputs, tmp_path, "--scheduler", address)
        assert res.returncode == 1, res.stderr
        assert "3 series, 1 already done, 2 to train" in res.stdout, res.stdout
        check_fleet(tmp_path)
    finally:
        for p in (worker, scheduler):
            p.terminate()
            p.wait(timeout=30)
