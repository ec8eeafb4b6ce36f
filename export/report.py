"""report.md, report.json and report.png: size, deviation, test MSE and latency of every file."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from runtime.windows import Normalization
from training.files import write_json


def write_report(
    folder: Path, rows: list[dict], meta: dict, reference: np.ndarray, y_test: np.ndarray
) -> dict:
    """Write the three report files into folder; returns the JSON data."""
    norm = Normalization.from_dict(meta["normalization"])
    keras_mse = float(np.mean((norm.invert(reference) - norm.invert(y_test)) ** 2))
    base = next(
        (r["entry"]["bytes"] for r in rows if r["variant"] == "float32" and "entry" in r), None
    )
    table = []
    for r in rows:
        e = r.get("entry")
        table.append(
            {
                "file": r["file"],
                "variant": r["variant"],
                "format": r["format"],
                "tolerance": r["tolerance"],
                "error": r.get("error"),
                **(
                    {}
                    if e is None
                    else {
                        "bytes": e["bytes"],
                        "ratio_to_float32": e["bytes"] / base if base else None,
                        "max_abs": e["parity"]["max_abs"],
                        "rms": e["parity"]["rms"],
                        "passed": e["parity"]["passed"],
                        "test_mse": e["test_mse"],
                        "latency_us": e["latency_us"],
                        "backend": e["backend"],
                    }
                ),
            }
        )
    data = {
        "model": meta["model"],
        "data": meta["data"],
        "window": meta["window"],
        "test_windows": len(y_test),
        "keras_test_mse": keras_mse,
        "files": table,
    }
    write_json(folder / "report.json", data)
    (folder / "report.md").write_text(_markdown(data))
    _plot(folder / "report.png", rows, reference, y_test, norm)
    return data


def _markdown(data: dict) -> str:
    m = data["model"]
    lines = [
        f"# Export report: {m['cell'].upper()} x{m['layers']} ({m['units']} units, "
        f"{m['params']:,} params) on `{data['data']['source']}`",
        "",
        f"Parity on {data['test_windows']} test windows of {data['window']} samples, against "
        f"the Keras model (test MSE {data['keras_test_mse']:.3e}). Deviations are in "
        "normalized model units (the training range is [-1, 1]); MSE is in the data's units; "
        "latency is the median per window at batch 1 on the file's interpreter, one thread.",
        "",
        "| file | bytes | vs float32 | max dev | bound | RMS dev | test MSE | µs/window "
        "| interpreter | parity |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in data["files"]:
        if r["error"]:
            lines.append(
                f"| {r['file']} | | | | {r['tolerance']:.0e} | | | | | **FAILED**: {r['error']} |"
            )
            continue
        ratio = f"{r['ratio_to_float32']:.2f}" if r["ratio_to_float32"] else ""
        verdict = "pass" if r["passed"] else "**FAILED**"
        lines.append(
            f"| {r['file']} | {r['bytes']:,} | {ratio} | {r['max_abs']:.1e} | "
            f"{r['tolerance']:.0e} | {r['rms']:.1e} | {r['test_mse']:.2e} | "
            f"{r['latency_us']:.0f} | {r['backend']} | {verdict} |"
        )
    lines += ["", "![predictions and size against deviation](report.png)", ""]
    return "\n".join(lines)


def _plot(
    path: Path, rows: list[dict], reference: np.ndarray, y_test: np.ndarray, norm: Normalization
) -> None:
    done = [r for r in rows if "entry" in r]
    colors = {r["variant"]: f"C{i}" for i, r in enumerate(done)}
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.5), width_ratios=(3, 3, 2))
    ax1.plot(norm.invert(y_test), color="black", linewidth=3, label="truth", alpha=0.3)
    ax1.plot(norm.invert(reference), color="black", linewidth=1, label="Keras")
    for r in done:
        ax1.plot(
            norm.invert(r["predictions"]),
            linewidth=0.8,
            linestyle="--",
            color=colors[r["variant"]],
            label=r["variant"],
        )
    ax1.set(
        xlabel="test window",
        ylabel="next sample (data units)",
        title="predictions on the test split",
    )
    ax1.legend(fontsize=7, ncol=2)
    for r in done:
        dev = np.abs(r["predictions"] - reference)
        ax2.plot(
            np.maximum(dev, 1e-9), linewidth=0.8, color=colors[r["variant"]], label=r["variant"]
        )
        ax2.axhline(r["tolerance"], color=colors[r["variant"]], linewidth=0.8, linestyle=":")
    ax2.set(
        yscale="log",
        xlabel="test window",
        ylabel="|dev| vs Keras (model units)",
        title="deviation per window (dotted: bound)",
    )
    for r in done:
        e, c = r["entry"], colors[r["variant"]]
        dev = max(e["parity"]["max_abs"], 1e-9)
        ax3.scatter(e["bytes"], dev, s=50, color=c, marker="o" if e["parity"]["passed"] else "x")
        ax3.annotate(
            r["variant"], (e["bytes"], dev), textcoords="offset points", xytext=(5, 3), fontsize=8
        )
        ax3.hlines(r["tolerance"], e["bytes"] * 0.93, e["bytes"] * 1.07, color=c, linewidth=1)
    ax3.set(
        xscale="log",
        yscale="log",
        xlabel="file bytes",
        ylabel="max |dev| vs Keras",
        title="size against deviation (bars: bound)",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
