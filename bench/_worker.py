"""Measurements made inside one device environment: `python -m bench._worker ARTIFACTS
BACKEND`, private: bench's main starts it in each environment.

Imports only the runtime (no TensorFlow) and prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from runtime import Stream, open_model
from runtime.interpreters import version_of
from runtime.manifest import read_manifest

from .coldstart import peak_rss_mb

SENSORS = (1, 16, 256)


def time_calls(fn: object, n: int, warmup: int = 10, blocks: int = 3) -> np.ndarray:
    """Seconds taken by each of n calls fn(i), after warm-up calls.

    The n calls are timed in `blocks` rounds and the round with the lowest median is kept: on a
    shared machine the other rounds measure the neighbours as much as the code.
    """
    for i in range(warmup):
        fn(i)
    best = None
    for _ in range(blocks):
        out = np.empty(n)
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            out[i] = time.perf_counter() - t0
        if best is None or np.median(out) < np.median(best):
            best = out
    return best


def stats_us(seconds: np.ndarray) -> dict:
    """Median and p99 in microseconds."""
    return {
        "median_us": float(np.median(seconds) * 1e6),
        "p99_us": float(np.quantile(seconds, 0.99) * 1e6),
    }


def measure_file(folder: Path, info: dict, backend: str, quick: bool) -> dict:
    """Per-sample streaming cost, batch-1 latency and throughput against sensors per invoke."""
    model = open_model(folder / info["file"], backend=backend)
    saved = np.load(folder / "windows.npz")
    # the samples in data units (a change model's series holds their steps)
    series = saved["values"] if "values" in saved else model.norm.invert(saved["series"])
    n = 200 if quick else 2000
    stream = Stream(model)
    for v in series[: model.window]:  # fill the window first: every timed push forecasts
        stream.push(v)
    push = time_calls(lambda i: stream.push(series[i % len(series)]), n)
    row = {
        "file": info["file"],
        "variant": info["variant"],
        "mode": info["mode"],
        "backend": backend,
        "bytes": info["bytes"],
        "push": stats_us(push),
    }
    if info["mode"] == "window":
        x = np.load(folder / "windows.npz")["test_x"]
        row["call"] = stats_us(time_calls(lambda i: model.predict_model_units(x[i % len(x)]), n))
    else:
        state = model.zero_state()
        z = saved["series"]
        row["call"] = stats_us(
            time_calls(lambda i: model.step_model_units(z[i % len(z) :][:1], state), n)
        )
    row["throughput"] = {}
    for sensors in SENSORS[:2] if quick and info["mode"] == "window" else SENSORS:
        many = Stream(model, sensors=sensors)
        rows = np.repeat(series[:, None], sensors, axis=1)
        for r in rows[: model.window]:
            many.push(r)
        reps = max(5, (50 if quick else 400) // sensors)
        t = time_calls(lambda i, m=many, r=rows: m.push(r[i % len(r)]), reps, warmup=3)
        row["throughput"][str(sensors)] = float(sensors / np.median(t))
    return row


def main() -> None:
    """Measure every file this backend runs; print the results as JSON."""
    folder, backend = Path(sys.argv[1]), sys.argv[2]
    quick = "--quick" in sys.argv
    only = [a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--files=")]
    fmt = {"onnxruntime": "onnx", "numpy": "numpy", "c": "c"}.get(backend, "tflite")
    files = [
        f
        for f in read_manifest(folder)["files"]
        if f["format"] == fmt and (not only or f["file"] in only[0])
    ]
    rows = [measure_file(folder, f, backend, quick) for f in files]
    print(
        json.dumps(
            {
                "backend": backend,
                "version": version_of(backend),
                "numpy": np.__version__,
                "files": rows,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
