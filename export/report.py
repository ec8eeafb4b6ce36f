"""report.md, report.json and report.png: size, deviation, test MSE and latency of every file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.anomaly import ScoreParams
from runtime.manifest import io_types
from runtime.windows import Normalization
from training.files import write_json
from training.metrics import horizon_text, skill_text
from training.plots import plt, save_figure


def write_report(folder: Path, rows: list[dict], meta: dict, refs: object) -> dict:
    """Write the three report files into folder; returns the JSON data."""
    norm = refs.norm
    keras_mse = refs.keras_test_mse()
    base = {
        r["mode"]: r["entry"]["bytes"] for r in rows if r["variant"] == "float32" and "entry" in r
    }
    table = []
    for r in rows:
        e = r.get("entry")
        row = {k: r[k] for k in ("file", "variant", "mode", "format", "tolerance")}
        row["error"] = r.get("error")
        row["skipped"] = r.get("skipped")
        if e is not None:
            compared = r["mode"] in base and r["format"] != "c"  # a C file's bytes are source
            row |= {
                "bytes": e["bytes"],
                "ratio_to_float32": e["bytes"] / base[r["mode"]] if compared else None,
                "flash_bytes": e.get("flash_bytes"),
                "ram_bytes": e.get("ram_bytes"),
                "max_abs": e["parity"]["max_abs"],
                "rms": e["parity"]["rms"],
                "passed": e["parity"]["passed"],
                "stress_max_abs": e["parity"]["stress_max_abs"],
                "outside": e["parity"]["outside"],
                "outside_max_abs": e["parity"]["outside_max_abs"],
                "test_mse": e["test_mse"],
                "latency_us": e["latency_us"],
                "backend": e["backend"],
                "io": io_types(e),
                "drift": e.get("drift"),
                "recipe": e.get("recipe"),
                "tried": e.get("tried", []),
            }
        table.append(row)
    data = {
        "model": meta["model"],
        "data": meta["data"],
        "window": meta["window"],
        "test_windows": len(refs.y_test),
        "stream_samples": len(refs.ref.series),
        "keras_test_mse": keras_mse,
        "metrics": meta["metrics"],
        "anomaly": refs.anomaly,
        "files": table,
    }
    write_json(folder / "report.json", data)
    (folder / "report.md").write_text(_markdown(data))
    _plot(folder / "report.png", rows, refs, norm)
    return data


def tried_text(tried: list[dict]) -> str:
    """The recipes that missed, e.g. 'rounded to nearest: 2.5e-02'."""
    return ", ".join(
        f"{t['recipe']}: " + (t["error"] if "error" in t else f"{max_dev(t):.1e}") for t in tried
    )


def max_dev(parity: dict) -> float:
    """The larger of a file's deviations on the test inputs and on the stress set."""
    return max(parity.get("max_abs") or 0.0, parity.get("stress_max_abs") or 0.0)


def _markdown(data: dict) -> str:
    parts = (_intro, _file_rows, _recipe_rows, _drift_rows, _c_rows, _anomaly_lines)
    return "\n".join(line for part in parts for line in part(data))


def _intro(data: dict) -> list[str]:
    """The heading, what was measured and how, and the file table's header."""
    m, k = data["model"], data["keras_test_mse"]
    return [
        f"# Export report: {m['cell'].upper()} x{m['layers']} ({m['units']} units, "
        f"{m['params']:,} params) on `{data['data']['source']}`",
        "",
        f"Window files are checked on {data['test_windows']} test windows of {data['window']} "
        f"samples; step files step by step over the whole stream ({data['stream_samples']} "
        "samples, from a zero state) against the same Keras layers run with "
        "`return_sequences=True`. Deviations are in normalized model units (the training range "
        "is [-1, 1]); test MSE is in the data's units, on the same test targets for both modes. "
        "Latency is the median per call at batch 1 (a window, or one step) on the file's "
        "interpreter, one thread.",
        "",
        "Every file is also held to its bound on the stress set: the test windows (and the test "
        "part of the stream) played 15-30% slower and faster and scaled out to the edges of the "
        "range the runtime accepts (the training range + 10%). Full int8 files map their input "
        "onto that calibrated range and saturate beyond it, so they are held to the bound where "
        "every sample of the window lies within it; the inputs outside are counted and their "
        "deviation shown, not held. All other files are held everywhere.",
        "",
        f"Keras test MSE: window mode {k['window']:.3e}, step mode {k['step']:.3e} "
        f"(step / window = {k['step'] / k['window']:.2f}); repeating the last value: "
        f"{data['metrics'].get('baseline_mse', float('nan')):.3e} (the model's skill: "
        f"{skill_text(data['metrics'].get('skill'))}).",
        *(
            ["", f"{horizon_text(data['metrics'])}. Every file is held to its bound on each."]
            if "horizon_skill" in data["metrics"]
            else []
        ),
        "",
        "| file | mode | bytes | vs float32 | max dev | stress | bound | outside the range "
        "| RMS dev | test MSE | µs/call | interpreter | takes and gives | parity |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]


def _file_rows(data: dict) -> list[str]:
    """A row per file: size, deviations, bound, latency, types, verdict."""
    lines: list[str] = []
    for r in data["files"]:
        if r["skipped"]:
            lines.append(f"| {r['file']} | {r['mode']} | | | | | | | | | | | | {r['skipped']} |")
            continue
        if r["error"]:
            lines.append(
                f"| {r['file']} | {r['mode']} | | | | | {r['tolerance']:.0e} | | | | | | | "
                f"**FAILED**: {r['error']} |"
            )
            continue
        ratio = f"{r['ratio_to_float32']:.2f}" if r["ratio_to_float32"] else ""
        verdict = "pass" if r["passed"] else "**FAILED**"
        outside = f"{r['outside']}: {r['outside_max_abs']:.1e}" if r["outside"] else ""
        lines.append(
            f"| {r['file']} | {r['mode']} | {r['bytes']:,} | {ratio} | "
            f"{r['max_abs']:.1e} | {r['stress_max_abs']:.1e} | {r['tolerance']:.0e} | {outside} | "
            f"{r['rms']:.1e} | "
            f"{r['test_mse']:.2e} | {r['latency_us']:.1f} | {r['backend']} | "
            f"{r.get('io', '')} | {verdict} |"
        )
    return lines


def _recipe_rows(data: dict) -> list[str]:
    """Which recipe made each file, and what the ones before it missed by."""
    made = [r for r in data["files"] if r.get("recipe")]
    if not made:
        return []
    lines = [
        "",
        "Files with more than one way to be made (export/variants.py) take the first that "
        "holds the bound; the ways tried before it missed by the deviation shown.",
        "",
        "| file | made by | missed before |",
        "|---|---|---|",
    ]
    lines += [f"| {r['file']} | {r['recipe']} | {tried_text(r['tried'])} |" for r in made]
    return lines


def _drift_rows(data: dict) -> list[str]:
    """Step files' deviation at the stream's start and end."""
    steps = [r for r in data["files"] if r.get("drift")]
    if not steps:
        return []
    lines = [
        "",
        "Step files over the stream, max deviation at its start and its end "
        "(first and last 10%): no drift when they are of one order.",
        "",
        "| file | start | end |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {r['file']} | {r['drift']['start_max_abs']:.1e} | {r['drift']['end_max_abs']:.1e} |"
        for r in steps
    ]
    return lines


def _c_rows(data: dict) -> list[str]:
    """The C files' flash and RAM."""
    native = [r for r in data["files"] if r.get("flash_bytes")]
    if not native:
        return []
    lines = [
        "",
        "C files, compiled here: flash is the code and constants of the object (`size`: "
        "text + data), RAM the `ef_stream` struct the caller owns (the state and three "
        "counters); nothing is allocated.",
        "",
        "| file | flash bytes | vs float32 | RAM bytes |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['file']} | {r['flash_bytes']:,} | "
        f"{r['flash_bytes'] / native[0]['flash_bytes']:.2f} | {r['ram_bytes']:,} |"
        for r in native
    ]
    return lines


def _anomaly_lines(data: dict) -> list[str]:
    """The anomaly score's settings, and the plot."""
    a = data["anomaly"]
    return [
        "",
        f"Anomaly: a score from {a['threshold']:.3g} on; "
        + _period_text(a, data["window"])
        + " (runtime/anomaly.py: "
        + ", ".join(f"{k} {v:g}" for k, v in ScoreParams().to_dict().items())
        + ").",
        "",
        "![predictions, deviation and size](report.png)",
        "",
    ]


def _period_text(a: dict, window: int) -> str:
    """What the score makes of the series' cycle, in words."""
    if a.get("period"):
        return (
            f"a period of {a['period']} samples, longer than the window of {window}: the score "
            "keeps a running profile of it"
        )
    if a.get("cycle"):
        return (
            f"the cycle of {a['cycle']} samples is inside the window of {window}: the "
            "forecaster sees it, so the score keeps no profile of it"
        )
    return "no period found"


NEAR = 0.5  # a file past half its bound is drawn as near it: a harder series may cross


def _plot(path: Path, rows: list[dict], refs: object, norm: Normalization) -> None:
    """Three panels read at a glance: what the model forecasts (Keras and the files that
    deviate most in each mode), each file's deviation as a fraction of its bound (green within
    half, orange nearer, red past it), and each file's size."""
    done = [r for r in rows if "entry" in r]
    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(17, 0.9 + 0.28 * max(len(done), 8)), width_ratios=(3, 2, 2)
    )
    _plot_forecasts(ax1, done, refs)
    names = [r["file"] for r in done]
    used = [_used(r["entry"]["parity"]) for r in done]
    colors = ["tab:red" if u > 1 else "tab:orange" if u > NEAR else "tab:green" for u in used]
    y = np.arange(len(done))[::-1]
    ax2.barh(y, used, color=colors)
    ax2.axvline(1.0, color="black", linewidth=1)
    ax2.set_yticks(y, names, fontsize=8)
    ax2.set(xlabel="max |dev| / bound (test and stress)", title="parity: how much of its bound")
    for yy, u, r in zip(y, used, done, strict=True):
        ax2.annotate(f"{u:.2f} of {r['tolerance']:.0e}", (u, yy), xytext=(3, -3),
                     textcoords="offset points", fontsize=7)  # fmt: skip
    sizes = [r["entry"].get("flash_bytes") or r["entry"]["bytes"] for r in done]
    ax3.barh(y, sizes, color=["tab:blue" if r["mode"] == "window" else "tab:purple" for r in done])
    ax3.set_yticks(y, [])
    ax3.set(xlabel="bytes (C: flash)", title="size (blue: window, purple: step)")
    ax3.set_xlim(0, max(sizes) * 1.25)
    for yy, n in zip(y, sizes, strict=True):
        ax3.annotate(f"{n:,}", (n, yy), xytext=(3, -3), textcoords="offset points", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def _used(parity: dict) -> float:
    """The fraction of its bound a file used, on the test inputs or the stress set."""
    return max(parity["max_abs"], parity["stress_max_abs"]) / parity["tolerance"]


def _plot_forecasts(ax, done: list[dict], refs: object) -> None:
    """The test split: the truth, Keras's window forecasts, and in each mode the file that
    deviates most from Keras (the others lie between)."""
    ax.plot(refs.levels(refs.y_test), color="black", linewidth=3, label="truth", alpha=0.3)
    ax.plot(refs.levels(refs.ref.window), color="black", linewidth=1, label="Keras (window)")
    for mode, style in (("window", "--"), ("step", ":")):
        files = [r for r in done if r["mode"] == mode]
        if files:
            worst = max(files, key=lambda r: _used(r["entry"]["parity"]))
            ax.plot(refs.levels(worst["predictions"]), linestyle=style, linewidth=1,
                    label=f"{worst['file']} (the farthest {mode} file)")  # fmt: skip
    ax.set(
        xlabel="test target", ylabel="forecast (data units)", title="forecasts on the test split"
    )
    ax.legend(fontsize=7)
