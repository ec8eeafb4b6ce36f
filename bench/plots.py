"""The benchmark's two plots: per-sample cost per file and interpreter, throughput per sensors."""

from __future__ import annotations

from pathlib import Path

from training.plots import plt, save_figure


def plot_latency(r: dict, path: Path) -> None:
    """Per-sample push cost per file and interpreter (log scale), with Keras beside it."""
    rows = [f for b in r["backends"] for f in b["files"]]
    labels = [f"{f['file']}\n{f['backend']}" for f in rows] + [
        "Keras\npredict",
        "Keras\ntf.function",
    ]
    values = [f["push"]["median_us"] for f in rows] + [
        r["keras"]["predict"]["median_us"],
        r["keras"]["tf_function"]["median_us"],
    ]
    colors = ["C0" if f["mode"] == "window" else "C2" for f in rows] + ["C3", "C3"]
    fig, ax = plt.subplots(figsize=(max(8, len(labels) * 0.55), 5))
    ax.bar(range(len(values)), values, color=colors)
    ax.set_xticks(range(len(values)), labels, rotation=90, fontsize=7)
    ax.set(
        yscale="log",
        ylabel="µs per sample (median)",
        title="per-sample cost: window files (blue), step files (green), Keras (red)",
    )
    save_figure(fig, path)


def plot_throughput(r: dict, path: Path) -> None:
    """Samples per second against sensors per invoke, one line per file and interpreter."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for b in r["backends"]:
        for f in b["files"]:
            t = f["throughput"]
            xs = sorted(int(k) for k in t)
            ax.plot(
                xs,
                [t[str(x)] for x in xs],
                marker="o",
                linestyle="-" if f["mode"] == "step" else "--",
                label=f"{f['file']} ({f['backend']})",
            )
    ax.axhline(1e6, color="red", linewidth=0.8, linestyle=":", label="1M samples/s")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="sensors per invoke",
        ylabel="samples per second",
        title="throughput (solid: step files, dashed: window files)",
    )
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, path)
