"""The benchmark's quick mode runs end to end, so `make bench` cannot rot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_module

pytestmark = pytest.mark.tensorflow


def test_quick_benchmark_measures_every_interpreter_and_keras(test_artifacts, tmp_path):
    res = run_module(
        "bench",
        "--quick",
        "--artifacts",
        str(test_artifacts / "lstm"),
        "--out",
        str(tmp_path),
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    r = json.loads((tmp_path / "results.json").read_text())
    backends = {b["backend"] for b in r["backends"]}
    device = {"litert", "onnxruntime", "numpy", "c"}
    expected = device if (REPO / ".venv-device").exists() else set()
    expected |= {"tflite-runtime"} if (REPO / ".venv-classic").exists() else set()
    assert backends == expected and expected
    for b in r["backends"]:
        for f in b["files"]:
            assert 0 < f["push"]["median_us"] <= f["push"]["p99_us"]
            assert all(v > 0 for v in f["throughput"].values())
    assert r["cold_start"]["tensorflow"]["peak_rss_mb"] > 0
    assert r["keras"]["predict"]["median_us"] > 0
    assert r["macs"]["per_step"] == 4 * 50 * (1 + 50) + 50
    assert len(r["ratios"]["targets"]) == 7
    (c_float32,) = [c for c in r["c_loop"] if c["variant"] == "c_float32"]
    assert 0 < c_float32["us_per_sample"] < 1000 and c_float32["flash_bytes"] > 40_000
    # the compute floor beside it: the same multiply-adds (51 rows of 200), measured, not judged
    assert (r["c_floor"]["rows"], r["c_floor"]["columns"]) == (51, 200)
    assert r["ratios"]["c_loop_vs_floor"] > 0
    md = (tmp_path / "results.md").read_text()
    assert "## Targets" in md and "step_float32.tflite" in md
    assert (tmp_path / "latency.png").stat().st_size > 0
    assert (tmp_path / "throughput.png").stat().st_size > 0


def test_without_device_environments_the_benchmark_says_what_to_run(test_artifacts, tmp_path):
    """A checkout with no .venv-device or .venv-classic beside it: one line, exit 2."""
    leftovers = shutil.ignore_patterns("results.*", "*.png")  # of an earlier make bench here
    for package in ("bench", "runtime", "training"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=leftovers)
    res = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--artifacts", str(test_artifacts / "lstm")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        "error: no device environment to measure in: run `make setup` (or `make bench`)"
    ]
    assert not (tmp_path / "bench" / "results.json").exists()
