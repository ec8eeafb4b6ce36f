"""`python -m nab run` on one NAB file, a small version of `make nab`: a real model, the runtime's
stream, results in NAB's own layout, scored, plotted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nab.run import corpus_alarms, score_table
from tests.conftest import run_module

NAB = Path(__file__).resolve().parents[3] / "shared" / "nab"
pytestmark = [
    pytest.mark.tensorflow,
    pytest.mark.skipif(not (NAB / "data").is_dir(), reason=f"no {NAB}"),
]


def test_one_file_through_the_benchmark(tmp_path):
    args = ["--nab", str(NAB), "run", "--out", str(tmp_path), "--files", "art_daily_jumpsup"]
    tiny = ["--window", "20", "--units", "8", "--epochs", "2", "--stream-epochs", "0"]
    res = run_module("nab", *args, *tiny, "--workers", "1", timeout=600)
    assert res.returncode == 0, res.stderr
    result = tmp_path / "results/edge-int8/artificialWithAnomaly/edge-int8_art_daily_jumpsup.csv"
    rows = list(csv.DictReader(result.open()))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "label"]
    data = list(csv.DictReader((NAB / "data/artificialWithAnomaly/art_daily_jumpsup.csv").open()))
    assert [r["timestamp"] for r in rows] == [r["timestamp"] for r in data]
    scores = [float(r["anomaly_score"]) for r in rows]
    assert min(scores) >= 0 and max(scores) <= 1 and max(scores) > 0
    assert sum(r["label"] == "1" for r in rows) == 403  # NAB's one window on this file
    job = json.loads(
        (tmp_path / "models/artificialWithAnomaly/art_daily_jumpsup/job.json").read_text()
    )
    assert job["train_args"] == tiny  # training options reach every file's training
    summary = json.loads((tmp_path / "nab.json").read_text())
    standard = summary["scores"]["edge-int8"]["standard"]
    assert -100 <= standard["score"] <= 100 and 0 < standard["threshold"] <= 1.1
    assert "edge-int8" in (tmp_path / "nab.md").read_text()
    for plot in ("artificialWithAnomaly.png", "series.png"):
        assert (tmp_path / "plots" / plot).stat().st_size > 10_000
    # the alarms an ordinary series raises, as make corpus-table counts them, in make nab's table
    fleet = tmp_path / "models" / "artificialWithAnomaly"
    res = run_module("fleet.alarms", str(fleet), str(NAB / "data" / "artificialWithAnomaly"))
    assert res.returncode == 0, res.stderr
    measured = json.loads((fleet / "alarms.json").read_text())
    assert measured["commit"] and list(measured["series"]) == ["art_daily_jumpsup"]
    counted = measured["series"]["art_daily_jumpsup"]
    assert counted["samples"] == len(data)
    cell = (
        f"{1000 * counted['alarms'] / counted['samples']:.2f} (1 series, at {measured['commit']})"
    )
    corpus = corpus_alarms(tmp_path / "models")
    assert corpus == {"edge-int8": cell}
    assert f"| {cell} |" in score_table(summary["scores"], {}, None, corpus)
