"""bench/results.md, results.json and the plots: tables, ratios and the targets they meet."""

from __future__ import annotations

import json
from pathlib import Path

from .plots import plot_latency, plot_throughput


def ratios(r: dict) -> dict:
    """The comparisons users decide on, measured side by side in this run."""
    rows = [f for b in r["backends"] for f in b["files"]]
    push = {(f["file"], f["backend"]): f["push"]["median_us"] for f in rows}
    best_step = min((f for f in rows if f["mode"] == "step"), key=lambda f: f["push"]["median_us"])
    best_window = min(
        (f for f in rows if f["mode"] == "window"), key=lambda f: f["push"]["median_us"]
    )
    same_window = push.get(("model_float32.tflite", best_step["backend"]))
    same_step = push.get(("step_float32.tflite", best_step["backend"]))
    tflite_window = [f for f in rows if f["mode"] == "window" and f["file"].endswith(".tflite")]
    onnx_window = [f for f in rows if f["mode"] == "window" and f["file"] == "model.onnx"]
    throughput = (
        max(v for f in rows for k, v in f["throughput"].items() if k == "256")
        if any("256" in f["throughput"] for f in rows)
        else None
    )
    cs, tf = r["cold_start"], r["cold_start"]["tensorflow"]
    runtime_cs = {k: v for k, v in cs.items() if k != "tensorflow"}
    out = {
        "step_vs_window_float32": same_window / same_step if same_window and same_step else None,
        "best_window_vs_best_step": best_window["push"]["median_us"]
        / best_step["push"]["median_us"],
        "keras_predict_vs_runtime": r["keras"]["predict"]["median_us"]
        / best_step["push"]["median_us"],
        "keras_tf_function_vs_runtime": r["keras"]["tf_function"]["median_us"]
        / best_step["push"]["median_us"],
        "best_step": f"{best_step['file']} on {best_step['backend']}",
        "samples_per_s_256_sensors": throughput,
        "core_gmacs_needed_at_256": throughput * r["macs"]["per_step"] / 1e9
        if throughput
        else None,
        "best_tflite_window_vs_onnx": (
            min(f["call"]["median_us"] for f in tflite_window) / onnx_window[0]["call"]["median_us"]
        )
        if tflite_window and onnx_window
        else None,
        "cold_start_s": {k: v["seconds"] for k, v in runtime_cs.items()},
        "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in runtime_cs.items()},
        "tensorflow_vs_runtime_cold_start": {
            k: tf["seconds"] / v["seconds"] for k, v in runtime_cs.items()
        },
        "runtime_rss_fraction_of_tensorflow": {
            k: v["peak_rss_mb"] / tf["peak_rss_mb"] for k, v in runtime_cs.items()
        },
    }
    c_float32 = [c for c in r.get("c_loop", []) if c["variant"] == "c_float32"]
    out["c_loop_float32_us"] = c_float32[0]["us_per_sample"] if c_float32 else None
    floor = r.get("c_floor")
    out["c_loop_vs_floor"] = (
        out["c_loop_float32_us"] / floor["us_per_pass"] if floor and c_float32 else None
    )
    out["targets"] = targets(out)
    return out


def targets(q: dict) -> list[dict]:
    """The issue's targets, each with the measured value and whether it is met."""

    def row(name: str, value: float | None, ok: bool | None) -> dict:
        return {"target": name, "measured": value, "met": ok}

    cs, rss = q["cold_start_s"], q["peak_rss_mb"]
    frac = q["runtime_rss_fraction_of_tensorflow"]
    return [
        row(
            "step mode >= 20x cheaper per sample than window mode (float32, same backend)",
            q["step_vs_window_float32"],
            q["step_vs_window_float32"] and q["step_vs_window_float32"] >= 20,
        ),
        row(
            "runtime >= 10,000x cheaper per sample than Keras model.predict",
            q["keras_predict_vs_runtime"],
            q["keras_predict_vs_runtime"] >= 10_000,
        ),
        row(
            ">= 1,000,000 samples/s on one core with 256 sensors per invoke",
            q["samples_per_s_256_sensors"],
            q["samples_per_s_256_sensors"] is not None and q["samples_per_s_256_sensors"] >= 1e6,
        ),
        row(
            "runtime cold start <= 0.3 s (slowest interpreter)",
            max(cs.values()),
            max(cs.values()) <= 0.3,
        ),
        row(
            "runtime peak RSS <= 60 MB and <= 1/10 of TensorFlow's (largest)",
            max(rss.values()),
            max(rss.values()) <= 60 and max(frac.values()) <= 0.1,
        ),
        row(
            "best TFLite window latency within 1.5x of onnxruntime's",
            q["best_tflite_window_vs_onnx"],
            q["best_tflite_window_vs_onnx"] is not None and q["best_tflite_window_vs_onnx"] <= 1.5,
        ),
        row(
            "generated C within 2x of the compute floor (float32 file, pure C loop / the same "
            "multiply-adds alone, bench/floor.c)",
            q["c_loop_vs_floor"],
            q["c_loop_vs_floor"] is not None and q["c_loop_vs_floor"] <= 2,
        ),
    ]


def write_results(out: Path, r: dict) -> None:
    """results.json (every number), results.md (tables) and two plots."""
    out.mkdir(parents=True, exist_ok=True)
    r["ratios"] = ratios(r)
    (out / "results.json").write_text(json.dumps(r, indent=2) + "\n")
    (out / "results.md").write_text(markdown(r))
    plot_latency(r, out / "latency.png")
    plot_throughput(r, out / "throughput.png")


def _fmt(v: float | None, spec: str = ".3g") -> str:
    return "" if v is None else format(v, spec)


def markdown(r: dict) -> str:
    """The tables."""
    parts = (_targets, _per_file, _c_loop, _cold_starts, _keras, _ratios)
    return "\n".join(line for part in parts for line in part(r))


def _targets(r: dict) -> list[str]:
    """The machine, the versions and the targets met."""
    m, q, k = r["machine"], r["ratios"], r["keras"]
    versions = ", ".join(
        f"{b['backend']} {b['version']} (numpy {b['numpy']})" for b in r["backends"]
    )
    lines = [
        f"# Benchmark{' (quick)' if r['quick'] else ''}",
        "",
        f"{m['cpu']} ({m['cores']} cores), {m['platform']}, Python {m['python']}; "
        f"{versions}; TensorFlow {k['tensorflow']}, Keras {k['keras']}. One thread per "
        f"interpreter. Model: {r['model']['cell'].upper()} x{r['model']['layers']} "
        f"({r['model']['units']} units), window {r['model']['window']}.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---:|---|",
    ]
    lines += [
        f"| {t['target']} | {_fmt(t['measured'], ',.4g')} | {'yes' if t['met'] else '**no**'} |"
        for t in q["targets"]
    ]
    return lines


def _per_file(r: dict) -> list[str]:
    """A row per file and interpreter: push, call, throughput."""
    lines = [
        "",
        "## Per file and interpreter",
        "",
        "push: one `Stream.push` (the whole per-sample path: scaling, buffer or state, "
        "quantization, invoke). call: one bare invoke (a window, or one step). Throughput: "
        "samples per second with N sensors in one stream (one invoke per time step where "
        "the file takes a batch). Each interpreter was measured "
        f"{r['backends'][0].get('rounds', 1)} time(s), in turn with the others; each row is "
        "its file's round with the lowest median push.",
        "",
        "| file | mode | interpreter | bytes | push median µs | push p99 µs | call median µs "
        "| 1 sensor /s | 16 sensors /s | 256 sensors /s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in r["backends"]:
        for f in b["files"]:
            t = f["throughput"]
            lines.append(
                f"| {f['file']} | {f['mode']} | {f['backend']} | {f['bytes']:,} | "
                f"{f['push']['median_us']:.1f} | {f['push']['p99_us']:.1f} | "
                f"{f['call']['median_us']:.1f} | {_fmt(t.get('1'), ',.0f')} | "
                f"{_fmt(t.get('16'), ',.0f')} | {_fmt(t.get('256'), ',.0f')} |"
            )
    return lines


def _c_loop(r: dict) -> list[str]:
    """The C files in a pure C loop."""
    lines: list[str] = []
    if r.get("c_loop"):
        lines += [
            "",
            "## The generated C files without Python",
            "",
            "`ef_push` per sample in a C loop over the stream's samples (bench/loop.c, median of "
            "5 rounds), compiled here; flash: code and constants of the compiled object; RAM: "
            "the `ef_stream` struct the caller owns.",
            "",
            "| file | µs per sample | flash bytes | RAM bytes | compiler |",
            "|---|---:|---:|---:|---|",
        ]
        lines += [
            f"| {c['file']} | {c['us_per_sample']:.2f} | {_fmt(c['flash_bytes'], ',')} | "
            f"{_fmt(c['ram_bytes'], ',')} | {c['compiler']} |"
            for c in r["c_loop"]
        ]
    if floor := r.get("c_floor"):
        lines.append(
            f"| compute floor: {floor['rows']} x {floor['columns']} multiply-adds alone "
            f"(bench/floor.c) | {floor['us_per_pass']:.2f} | | | {floor['compiler']} |"
        )
    return lines


def _cold_starts(r: dict) -> list[str]:
    """Start-up time and peak memory of each process."""
    lines = [
        "",
        "## Cold start and memory",
        "",
        "A fresh process: start Python, import, load the model, first forecast.",
        "",
        "| process | seconds (wall) | seconds after start-up | peak RSS MB |",
        "|---|---:|---:|---:|",
    ]
    for name, c in r["cold_start"].items():
        lines.append(
            f"| {name} | {c['seconds']:.3f} | {c['seconds_in_process']:.3f} | "
            f"{c['peak_rss_mb']:.0f} |"
        )
    return lines


def _keras(r: dict) -> list[str]:
    """Keras's own calls beside the runtime."""
    k = r["keras"]
    lines = [
        "",
        "## Keras baselines (batch 1, one window)",
        "",
        "| call | median µs | p99 µs |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {k[name]['median_us']:,.0f} | {k[name]['p99_us']:,.0f} |"
        for name in ("predict", "predict_on_batch", "tf_function")
    ]
    return lines


def _ratios(r: dict) -> list[str]:
    """The ratios measured side by side, and the compute floor."""
    q = r["ratios"]
    mc = r["macs"]
    lines = [
        "",
        "## Ratios and the compute floor",
        "",
        f"- step vs window (float32 files, same interpreter): "
        f"{_fmt(q['step_vs_window_float32'])}x cheaper per sample",
        f"- Keras `model.predict` vs the runtime's best per-sample push "
        f"({q['best_step']}): {q['keras_predict_vs_runtime']:,.0f}x; vs a `tf.function`: "
        f"{q['keras_tf_function_vs_runtime']:,.0f}x",
        f"- best TFLite window latency / onnxruntime's: {_fmt(q['best_tflite_window_vs_onnx'])}",
        "- TensorFlow cold start / runtime's: "
        + ", ".join(f"{k} {v:.0f}x" for k, v in q["tensorflow_vs_runtime_cold_start"].items()),
        "- runtime peak RSS as a fraction of TensorFlow's: "
        + ", ".join(f"{k} {v:.2f}" for k, v in q["runtime_rss_fraction_of_tensorflow"].items()),
        f"- compute: {mc['per_step']:,} MACs per step, {mc['per_window']:,} per window; "
        f"at {_fmt(q['samples_per_s_256_sensors'], ',.0f')} samples/s (256 sensors) one "
        f"core does {_fmt(q['core_gmacs_needed_at_256'], '.2f')} GMAC/s",
        "",
        f"Measured in {r['seconds']:.0f} s.",
        "",
    ]
    return lines
