"""The fleet table: every exported file on every NAB series, each trained on the rows NAB does
not score (`python -m nab table`, `make fleet-table`)."""

from __future__ import annotations

import statistics
from pathlib import Path

from fleet.report import provenance, summary

SKILLED = 0.1  # window skill above which step mode must be as good as window mode
STEP_LIMIT = 1.25  # step / window test MSE allowed there, or the runtime runs window mode


def categories(rows: list[dict]) -> list[dict]:
    """Per NAB category: step / window test MSE (median, worst) and, on the series whose window
    model has skill above SKILLED, how many exceed STEP_LIMIT and whether window mode runs there."""
    out = []
    for name in sorted({r["series"].split("/")[0] for r in rows}):
        trained = [r for r in rows if r["series"].startswith(name + "/") and not r["error"]]
        ratios = [r["step_over_window"] for r in trained if r["step_over_window"] is not None]
        skilled = [r for r in trained if (r["skill"] or 0) > SKILLED and r["step_over_window"]]
        over = [r for r in skilled if r["step_over_window"] > STEP_LIMIT]
        out.append(
            {
                "category": name,
                "series": len(trained),
                "median": statistics.median(ratios) if ratios else None,
                "worst": max(ratios, default=None),
                "skilled": len(skilled),
                "over": len(over),
                "over_run_window": sum(r["best_mode"] == "window" for r in over),
                "step_mode": sum(r["best_mode"] == "step" for r in trained),
            }
        )
    return out


def markdown(rows: list[dict], seconds: float, workers: int) -> str:
    """Two tables: per file, on how many series it holds; per category, step / window."""
    trained = [r for r in rows if not r["error"]]
    refused = [r for r in rows if r["error"]]
    timed = [r["seconds"] for r in trained if not r.get("resumed")]
    lines = [
        f"{provenance(rows)}. {len(trained)} of {len(rows)} NAB series trained (each on its first "
        f"15%, at most 750 rows) and exported, in {seconds / 60:.0f} min with {workers} workers"
        + (f", a series {statistics.median(timed):.0f} s on its worker (median)" if timed else "")
        + "".join(f"; {r['series']} refused: {r['error'].split(': ', 2)[-1]}" for r in refused)
        + ".",
        "",
        "| file | bound | holds on | worst max \\|dev\\| | on | made by a later recipe |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for s in summary(rows):
        made = [r["files"].get(s["file"], {}) for r in trained]
        later = sum(bool(f.get("passed") and f.get("missed")) for f in made)
        lines.append(
            f"| {s['file']} | {s['bound']:.0e} | {s['held']} / {s['series']} | "
            f"{s['worst']:.1e} | {s.get('worst_series', '')} | {later} |"
        )
    lines += [
        "",
        f"Step / window test MSE (Keras) per category; on the series whose window model has "
        f"skill above {SKILLED}, how many exceed {STEP_LIMIT} and of those how many run window "
        "mode (`best_mode`, the mode with the lower test MSE, what the runtime runs unless asked).",
        "",
        "| category | series | median | worst | skill > 0.1 | over 1.25 | of those, window mode "
        "| step mode runs on |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in categories(rows):
        fmt = lambda x: "" if x is None else f"{x:.2f}"  # noqa: E731
        lines.append(
            f"| {c['category']} | {c['series']} | {fmt(c['median'])} | {fmt(c['worst'])} | "
            f"{c['skilled']} | {c['over']} | {c['over_run_window']} | {c['step_mode']} |"
        )
    return "\n".join(lines) + "\n"


def write(out: Path, rows: list[dict], seconds: float, workers: int) -> str:
    """out/table.md; returns its text."""
    text = markdown(rows, seconds, workers)
    (out / "table.md").write_text(text)
    return text
