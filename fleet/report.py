"""fleet.json and fleet.md: a row per series and, per exported file, on how many series it holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

from export.report import max_dev, tried_text
from training.files import commit, write_json


def series_row(folder: Path, name: str, seconds: float, error: str | None) -> dict:
    """One series' row, read from what its training and export wrote."""
    row: dict = {"series": name, "seconds": round(seconds, 1), "error": error}
    if error:
        return row
    meta = json.loads((folder / "model.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    metrics, model = meta["metrics"], manifest["model"]
    mse = model["test_mse"]
    files = {}
    for f in report["files"]:
        if f.get("skipped"):
            continue
        dev = max_dev(f)
        files[f["file"]] = {
            "passed": bool(f.get("passed")),
            "max_dev": None if f.get("error") else dev,
            "bound": f["tolerance"],
            "error": f.get("error"),
            "recipe": f.get("recipe"),  # how it was made, where there is more than one way
            "missed": tried_text(f.get("tried", [])),  # the ways tried before, and by how much
        }
    worst = max(
        files,
        key=lambda k: (
            math.inf if files[k]["max_dev"] is None else files[k]["max_dev"] / files[k]["bound"]
        ),
        default=None,
    )
    row |= {
        "rows": meta["data"]["rows"],
        "target": meta["normalization"]["target"],
        "skill": metrics.get("skill"),
        "step_over_window": mse["step"] / mse["window"] if mse["window"] > 0 else None,
        "best_mode": model["best_mode"],
        "files": files,
        "held": sum(f["passed"] for f in files.values()),
        "worst": worst,
    }
    return row


def summary(rows: list[dict]) -> list[dict]:
    """Per exported file: on how many series it was written, held its bound, and its worst
    deviation (and the series where)."""
    out: dict[str, dict] = {}
    for row in rows:
        for file, f in row.get("files", {}).items():
            s = out.setdefault(
                file, {"file": file, "bound": f["bound"], "series": 0, "held": 0, "worst": 0.0}
            )
            s["series"] += 1
            s["held"] += f["passed"]
            dev = math.inf if f["max_dev"] is None else f["max_dev"]
            if dev >= s["worst"]:
                s["worst"], s["worst_series"] = dev, row["series"]
    return sorted(out.values(), key=lambda s: s["file"])


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "" if x is None else format(x, spec)


def provenance(rows: list[dict]) -> str:
    """The commit a table was made at, and how many of its series an earlier run made (a fleet
    keeps the series it finished with the same settings)."""
    kept = sum(bool(r.get("resumed")) for r in rows)
    return f"At {commit()}" + (f" ({kept} of the series made by an earlier run)" if kept else "")


def markdown(rows: list[dict]) -> str:
    """fleet.md: the per-file summary, then a row per series."""
    trained = [r for r in rows if not r["error"]]
    lines = [
        f"{len(trained)} of {len(rows)} series trained and exported; "
        f"{sum(r['held'] == len(r['files']) for r in trained)} with every file within its bound.",
        "",
        "| file | bound | holds on | worst max \\|dev\\| | on |",
        "|---|---:|---:|---:|---|",
    ]
    for s in summary(rows):
        lines.append(
            f"| {s['file']} | {s['bound']:.0e} | {s['held']} / {s['series']} | "
            f"{s['worst']:.1e} | {s.get('worst_series', '')} |"
        )
    lines += [
        "",
        "| series | files within bound | worst file (max \\|dev\\| / bound) | "
        "made by a later recipe | step / window | mode run | skill | s | error |",
        "|---|---:|---|---|---:|---|---:|---:|---|",
    ]
    for r in rows:
        if r["error"]:
            lines.append(f"| {r['series']} | | | | | | | {r['seconds']:.0f} | {r['error']} |")
            continue
        w = r["files"].get(r["worst"]) if r["worst"] else None
        worst = (
            f"{r['worst']} ({w['max_dev']:.1e} / {w['bound']:.0e})"
            if w and w["max_dev"] is not None
            else (r["worst"] or "")
        )
        later = [(k, f) for k, f in r["files"].items() if f["missed"]]
        recipes = "; ".join(f"{k}: {f['recipe']} (missed: {f['missed']})" for k, f in later)
        lines.append(
            f"| {r['series']} | {r['held']} / {len(r['files'])} | {worst} | {recipes} | "
            f"{_fmt(r['step_over_window'])} | {r['best_mode']} | {_fmt(r['skill'])} | "
            f"{r['seconds']:.0f} | |"
        )
    return "\n".join(lines) + "\n"


def write(out: Path, rows: list[dict], settings: dict) -> None:
    """fleet.json and fleet.md in the fleet's folder."""
    write_json(out / "fleet.json", {"settings": settings, "series": rows, "files": summary(rows)})
    (out / "fleet.md").write_text(markdown(rows))
