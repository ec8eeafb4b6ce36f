"""Convert every variant, gate each on parity, write the manifest and the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from runtime.backends import default_backend, open_backend
from runtime.errors import UserError
from runtime.forecaster import Forecaster
from runtime.manifest import FORMAT, MANIFEST, Entry, sha256_file
from runtime.windows import Normalization
from training.files import staged, write_json

from .inspect import tflite_metadata
from .parity import compare, latency_us
from .report import write_report
from .variants import Variant

REPO = Path(__file__).resolve().parent.parent
CONVERT_TIMEOUT_S = 600


def load_inputs(artifacts: Path) -> tuple[dict, dict]:
    """model.json and windows.npz, or a UserError naming what is missing and what to run."""
    for name in ("model.keras", "model.json", "windows.npz"):
        if not (artifacts / name).is_file():
            raise UserError(
                f"{artifacts / name} is missing: train first (make train, or "
                f"python -m training --out {artifacts})"
            )
    try:
        meta = json.loads((artifacts / "model.json").read_text())
        windows = dict(np.load(artifacts / "windows.npz"))
        meta["window"], meta["normalization"]["center"]
    except (OSError, ValueError, KeyError) as e:
        raise UserError(
            f"{artifacts}/model.json or windows.npz is unreadable ({e!r}): train again"
        ) from None
    return meta, windows


def keras_reference(artifacts: Path, x: np.ndarray) -> np.ndarray:
    """The Keras model's outputs on x: the reference every file is held to."""
    import keras

    try:
        model = keras.saving.load_model(artifacts / "model.keras", compile=False)
    except Exception as e:  # keras raises many types for a damaged archive
        raise UserError(
            f"cannot load {artifacts / 'model.keras'} ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]}): train again"
        ) from None
    return model.predict(x, batch_size=256, verbose=0).reshape(-1)


def run_conversion(variant: Variant, artifacts: Path, out: Path) -> str | None:
    """Convert in a child process; None on success, else the error to report."""
    cmd = [sys.executable, "-m", "export.convert", variant.name, str(artifacts), str(out)]
    env = os.environ | {"PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=CONVERT_TIMEOUT_S, cwd=REPO
        )
    except subprocess.TimeoutExpired:
        return f"conversion took over {CONVERT_TIMEOUT_S}s and was stopped"
    if proc.returncode == 0 and out.is_file():
        return None
    out.unlink(missing_ok=True)
    if proc.returncode < 0:
        return f"the converter crashed (signal {-proc.returncode})"
    last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or ["no message"]
    return f"the converter failed (exit {proc.returncode}): {last[0][:300]}"


def describe_file(path: Path, variant: Variant, meta: dict) -> dict:
    """The manifest entry of a converted file, before parity is known."""
    backend = open_backend(path, variant.format, default_backend(variant.format))
    info = {
        "file": path.name,
        "format": variant.format,
        "variant": variant.name,
        "mode": "window",
        "about": variant.about,
        "max_batch": variant.max_batch,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "inputs": [vars(t) for t in backend.inputs],
        "outputs": [vars(t) for t in backend.outputs],
    }
    if variant.format == "tflite":
        info["min_runtime_version"] = tflite_metadata(path).get("min_runtime_version")
    return info


def export_all(
    artifacts: Path, variants: list[Variant], say: Callable[[str], None] = print
) -> tuple[dict, bool]:
    """Export `variants` into `artifacts`; returns the report data and whether all passed."""
    meta, windows = load_inputs(artifacts)
    x_test, y_test = windows["test_x"], windows["test_y"]
    reference = keras_reference(artifacts, x_test)
    norm = Normalization.from_dict(meta["normalization"])
    model_info = {
        "window": meta["window"],
        "normalization": meta["normalization"],
        "cell": meta["model"]["cell"],
        "units": meta["model"]["units"],
        "layers": meta["model"]["layers"],
        "residuals": meta.get("residuals"),
        "calibrated_range": [-1.0, 1.0],
    }
    rows = []
    with staged(artifacts) as tmp:
        for v in variants:
            t0 = time.perf_counter()
            out = tmp / v.filename
            error = run_conversion(v, artifacts, out)
            row: dict = {
                "variant": v.name,
                "file": v.filename,
                "format": v.format,
                "tolerance": v.tolerance,
            }
            if error is None:
                info = describe_file(out, v, meta)
                forecaster = Forecaster(Entry(out, info, model_info))
                pred = forecaster.predict_model_units(x_test)
                parity = compare(pred, reference, v.tolerance)
                info["parity"] = parity.to_dict()
                info["test_mse"] = float(np.mean((norm.invert(pred) - norm.invert(y_test)) ** 2))
                info["latency_us"] = latency_us(forecaster, x_test)
                info["backend"] = forecaster.backend.name
                row |= {"entry": info, "predictions": pred}
                verdict = "ok" if parity.passed else "FAILED parity"
                say(
                    f"{v.filename:<26} {info['bytes']:>8,} B  max dev {parity.max_abs:.1e} "
                    f"(bound {v.tolerance:.0e})  {verdict}  {time.perf_counter() - t0:4.1f}s"
                )
            else:
                row["error"] = error
                say(f"{v.filename:<26} FAILED: {error}")
            rows.append(row)
        manifest = {
            "format": FORMAT,
            "model": model_info,
            "model_json": {"file": "model.json", "sha256": sha256_file(artifacts / "model.json")},
            "files": [r["entry"] for r in rows if "entry" in r],
            "failed": [
                {"file": r["file"], "variant": r["variant"], "error": r["error"]}
                for r in rows
                if "error" in r
            ],
        }
        write_json(tmp / MANIFEST, manifest)
        report = write_report(tmp, rows, meta, reference, y_test)
    ok = all("entry" in r and r["entry"]["parity"]["passed"] for r in rows)
    return report, ok
