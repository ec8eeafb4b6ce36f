"""`python -m bench`: the runtime's speed, memory and size beside Keras/TensorFlow, in one run."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from runtime.cli.args import ArgumentParser, run_cli
from runtime.errors import UserError
from runtime.manifest import read_manifest

from .native import c_floor, c_loop
from .report import write_results

REPO = Path(__file__).resolve().parent.parent
# (backend, environment) pairs: every interpreter in the environment a device would have
BACKENDS = (
    ("litert", ".venv-device"),
    ("onnxruntime", ".venv-device"),
    ("tflite-runtime", ".venv-classic"),
    ("numpy", ".venv-device"),
    ("c", ".venv-device"),  # the generated C files through ctypes (bench/native.py: pure C)
)
# The interpreters are measured in turn, ROUNDS times over: a neighbour's burst on this shared
# machine then slows one round of each, not all of one interpreter's files.
ROUNDS = 3
QUICK_FILES = (
    "model_float32.tflite",
    "step_float32.tflite",
    "model.onnx",
    "step.onnx",
    "model_numpy.npz",
    "step_numpy.npz",
    "c/forecaster_float32.c",
)


def run_json(python: Path, *args: str, timeout: float = 900) -> dict:
    """Run `python -m ARGS` from the repo root and parse the JSON it prints."""
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [str(python), "-m", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise UserError(f"{' '.join(args)} failed in {python}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_round(runs: list[dict]) -> dict:
    """One interpreter's worker results over the rounds: per file, the round with the lowest
    median push (noise only ever adds time)."""
    by_file = zip(*(r["files"] for r in runs), strict=True)
    files = [min(rows, key=lambda r: r["push"]["median_us"]) for rows in by_file]
    return {
        **runs[0],
        "files": files,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "rounds": len(runs),
    }


def cold_starts(python: Path, kind: str, folder: Path, file: str, repeats: int) -> dict:
    """Median wall time of a whole fresh process (start, import, load, first forecast)."""
    walls, inside, rss = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = run_json(python, "bench.coldstart", kind, str(folder), file)
        walls.append(time.perf_counter() - t0)
        inside.append(r["seconds_in_process"])
        rss.append(r["peak_rss_mb"])
    return {
        "seconds": float(np.median(walls)),
        "seconds_in_process": float(np.median(inside)),
        "peak_rss_mb": float(np.median(rss)),
        "repeats": repeats,
    }


def keras_baselines(folder: Path, quick: bool) -> dict:
    """What a user would run instead: Keras predict, predict_on_batch and a tf.function."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    from ._worker import stats_us, time_calls

    model = keras.saving.load_model(folder / "model.keras", compile=False)
    x = np.load(folder / "windows.npz")["test_x"][:1]
    fn = tf.function(lambda t: model(t, training=False))
    n = 5 if quick else 30
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "predict": stats_us(time_calls(lambda i: model.predict(x, verbose=0), n, 2)),
        "predict_on_batch": stats_us(time_calls(lambda i: model.predict_on_batch(x), n * 4)),
        "tf_function": stats_us(time_calls(lambda i: fn(x), n * 4)),
    }


def macs(model: dict) -> dict:
    """Multiply-accumulates per step and per window, from the model's configuration."""
    gates = {"lstm": 4, "gru": 3}[model["cell"]]
    per_step, inputs = 0, 1
    for _ in range(model["layers"]):
        per_step += gates * model["units"] * (inputs + model["units"])
        inputs = model["units"]
    per_step += model["units"]  # the Dense head, once per forecast
    return {"per_step": per_step, "per_window": per_step * model["window"]}


def parse_args() -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m bench",
        description="Measure the exported files on every interpreter (per-sample streaming "
        "cost in window and step mode, batch-1 latency, throughput against sensors per invoke, "
        "cold start, peak RSS) beside Keras and TensorFlow doing the same, in one run.",
    )
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: a few files, fewer repeats (under a minute)",
    )
    return parser.parse_args()


def device_envs(say) -> list[tuple[str, Path]]:
    """(backend, its venv's python) for each device environment that exists."""
    envs = []
    for backend, venv in BACKENDS:
        python = REPO / venv / "bin" / "python"
        if python.exists():
            envs.append((backend, python))
        else:
            say(f"skip {backend}: {venv} does not exist (make setup builds it)")
    if not envs:
        raise UserError("no device environment to measure in: run `make setup` (or `make bench`)")
    return envs


def measure_files(envs: list, folder: Path, quick: bool, say) -> list[dict]:
    """Every file on every interpreter, ROUNDS times in turn; each file's best round."""
    rounds = 1 if quick else ROUNDS
    measured: dict[str, list[dict]] = {backend: [] for backend, _ in envs}
    extra = ["--quick", f"--files={','.join(QUICK_FILES)}"] if quick else []
    for r in range(rounds):
        for backend, python in envs:
            say(f"round {r + 1}/{rounds}: measuring files on {backend} ...")
            run = run_json(python, "bench._worker", str(folder), backend, *extra)
            measured[backend].append(run)
    return [best_round(runs) for runs in measured.values()]


def main() -> int:
    """Measure everything, write bench/results.{md,json} and the plots."""
    args = parse_args()
    folder = args.artifacts.resolve()
    manifest = read_manifest(folder)
    say = lambda s: print(s, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    results: dict = {"quick": args.quick, "machine": machine(), "model": manifest["model"]}
    envs = device_envs(say)
    results["backends"] = measure_files(envs, folder, args.quick, say)
    results["cold_start"] = {}
    for backend, python in envs:
        say(f"cold start of a runtime process on {backend} ...")
        probe = COLD_START_FILE.get(backend, "model_float32.tflite")
        runs = 1 if args.quick else 5
        results["cold_start"][backend] = cold_starts(python, "runtime", folder, probe, runs)
    say("the C files in a pure C loop ...")
    results["c_loop"] = c_loop(folder, manifest, args.quick)
    results["macs"] = macs({**manifest["model"], "window": manifest["model"]["window"]})
    model = manifest["model"]
    gates = {"lstm": 4, "gru": 3}[model["cell"]] * model["units"]
    results["c_floor"] = c_floor(results["macs"]["per_step"], gates, args.quick)
    say("cold start of a TensorFlow process ...")
    results["cold_start"]["tensorflow"] = cold_starts(
        Path(sys.executable), "tensorflow", folder, "model.keras", 1 if args.quick else 3
    )
    say("Keras baselines ...")
    results["keras"] = keras_baselines(folder, args.quick)
    results["seconds"] = time.perf_counter() - t_start
    write_results(args.out, results)
    say(
        f"-> {args.out}/results.md, results.json, latency.png, throughput.png "
        f"({results['seconds']:.0f}s)"
    )
    return 0


# the file a cold start loads on each interpreter (the float32 TFLite file where not named)
COLD_START_FILE = {
    "onnxruntime": "model.onnx",
    "numpy": "model_numpy.npz",
    "c": "c/forecaster_float32.c",
}


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else ""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


if __name__ == "__main__":
    run_cli(main)
