"""`python -m runtime` end to end: files with bad lines, stdin, sim, a pseudo-terminal, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import tty

import numpy as np
import pytest

from runtime import Forecaster, Stream
from tests.conftest import REPO, run_module


@pytest.fixture(scope="module")
def samples(lstm_dir):
    """120 samples of the test model's own series, in data units."""
    f = Forecaster.load(lstm_dir)
    return f.norm.invert(np.load(lstm_dir / "windows.npz")["series"][:120]).tolist()


def api_predictions(folder, values, variant="float32"):
    stream = Stream(Forecaster.load(folder, variant))
    return [stream.push(v) for v in values]


def start_stream(model, *args):
    """`python -m runtime stream --model MODEL ARGS` running in the background, text pipes."""
    cmd = [sys.executable, "-m", "runtime", "stream", "--model", str(model), *args]
    return subprocess.Popen(
        cmd, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def parse_csv(stdout):
    lines = stdout.strip().splitlines()
    assert lines[0] == "index,value,prediction,residual,anomaly,out_of_range"
    rows = [line.split(",") for line in lines[1:]]
    return [(int(i), float(v), float(p) if p else None, o == "1") for i, v, p, _, _, o in rows]


def assert_same_predictions(rows, expected):
    got = [p for _, _, p, _ in rows]
    assert [g is None for g in got] == [e is None for e in expected]
    pairs = [(g, e) for g, e in zip(got, expected, strict=True) if e is not None]
    np.testing.assert_allclose(*zip(*pairs, strict=True), rtol=1e-5, atol=1e-9)


def test_csv_file_with_bad_lines_reports_skips_and_keeps_the_window(lstm_dir, samples, tmp_path):
    lines = ["time,level"] + [f"{i},{v!r}" for i, v in enumerate(samples)]
    bad = {10: "10,abc", 20: "", 30: "30,nan", 40: "40,1.0,7", 50: "50,inf"}
    for at, text in sorted(bad.items(), reverse=True):
        lines.insert(at, text)
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n")
    res = run_module(
        "runtime", "stream", "--model", str(lstm_dir), "--input", str(path), "--column", "level"
    )
    assert res.returncode == 0, res.stderr
    rows = parse_csv(res.stdout)
    assert [r[0] for r in rows] == list(range(len(samples)))  # every valid sample, nothing lost
    np.testing.assert_array_equal([r[1] for r in rows], samples)
    assert_same_predictions(rows, api_predictions(lstm_dir, samples))
    messages = {
        "10,abc": "not a number: 'abc'",
        "": "empty line",
        "30,nan": "'nan' is not a finite number",
        "40,1.0,7": "expected 2 field(s), found 3",
        "50,inf": "'inf' is not a finite number",
    }
    for text, message in messages.items():
        line_no = lines.index(text) + 1
        assert f"warning: line {line_no}: {message}; skipped" in res.stderr
    assert "summary: 120 samples read, 71 predicted, 5 skipped" in res.stderr


def test_stdin_one_number_per_line_as_jsonl(lstm_dir, samples):
    text = "\n".join(repr(v) for v in samples[:60]) + "\n"
    res = run_module(
        "runtime",
        "stream",
        "--model",
        str(lstm_dir / "model_int8.tflite"),
        "--input",
        "-",
        "--format",
        "jsonl",
        stdin=text,
    )
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 60 and rows[0] == {
        "index": 0,
        "value": samples[0],
        "prediction": None,
        "residual": None,
        "anomaly": False,
        "out_of_range": False,
    }
    expected = api_predictions(lstm_dir, samples[:60], "int8")
    np.testing.assert_allclose([r["prediction"] for r in rows[49:]], expected[49:], rtol=1e-9)


def test_values_outside_the_training_range_are_passed_through_and_flagged(lstm_dir):
    text = "\n".join(["0.5"] * 55 + ["5.0", "0.5"]) + "\n"
    res = run_module("runtime", "stream", "--model", str(lstm_dir), stdin=text)
    rows = parse_csv(res.stdout)
    assert [r[3] for r in rows].count(True) == 1 and rows[55][3]
    assert rows[55][2] is not None and "1 out of range" in res.stderr


def test_several_columns_give_one_prediction_each(lstm_dir, samples, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,b\n" + "".join(f"{x!r},{-x!r}\n" for x in samples[:70]))
    res = run_module(
        "runtime",
        "stream",
        "--model",
        str(lstm_dir),
        "--input",
        str(path),
        "--column",
        "a",
        "--column",
        "b",
    )
    lines = res.stdout.strip().splitlines()
    fields = ["prediction", "residual", "anomaly", "out_of_range"]
    assert lines[0] == "index," + ",".join(
        f"{n}{'_' + f if f else ''}" for n in "ab" for f in ["", *fields]
    )
    last = lines[-1].split(",")
    want_a = api_predictions(lstm_dir, samples[:70])[-1]
    want_b = api_predictions(lstm_dir, [-x for x in samples[:70]])[-1]
    np.testing.assert_allclose([float(last[2]), float(last[7])], [want_a, want_b], rtol=1e-5)


def test_sim_source_streams_count_samples(lstm_dir):
    args = ["stream", "--model", str(lstm_dir), *"--input sim --count 80 --format jsonl".split()]
    res = run_module("runtime", *args)
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 0 and len(rows) == 80
    assert rows[48]["prediction"] is None and rows[49]["prediction"] is not None
    assert run_module("runtime", *args).stdout == res.stdout  # seeded


def test_closed_stdout_ends_quietly(lstm_dir):
    cmd = f"{sys.executable} -m runtime stream --model {lstm_dir} --input sim | head -n 3"
    res = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert res.stdout.count("\n") == 3
    assert "Traceback" not in res.stderr and "Error" not in res.stderr


def test_serial_port_on_a_pseudo_terminal_then_the_port_disappears(lstm_dir, samples):
    master, slave = os.openpty()
    tty.setraw(slave)  # as a USB serial adapter would be: no echo, no line editing
    port = os.ttyname(slave)
    proc = start_stream(lstm_dir, "--input", port, "--baud", "9600")
    watchdog = threading.Timer(60, proc.kill)  # a hang becomes a failure, not a stuck CI run
    watchdog.start()
    try:
        assert proc.stderr.readline().startswith(f"reading {port} at 9600 baud")
        os.write(master, "".join(f"{v!r}\r\n" for v in samples[:60]).encode())
        os.write(master, b"garbage\r\n")
        os.write(master, "".join(f"{v!r}\n" for v in samples[60:70]).encode())
        rows = [proc.stdout.readline() for _ in range(71)]  # header + 70 samples
        os.close(master)  # unplug the adapter
        rest, err = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
        os.close(slave)
        proc.kill()
    assert proc.returncode == 1
    parsed = parse_csv("".join(rows) + rest)
    assert len(parsed) == 70
    assert_same_predictions(parsed, api_predictions(lstm_dir, samples[:70]))
    assert "warning: line 61: not a number: 'garbage'" in err
    assert "error: input ended unexpectedly" in err and "summary: 70 samples read" in err


def test_a_corrupt_model_is_refused_before_anything_streams(lstm_dir, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(lstm_dir, folder)
    data = bytearray((folder / "model_float32.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model_float32.tflite").write_bytes(bytes(data))
    res = run_module("runtime", "stream", "--model", str(folder), "--input", "sim", "--count", "5")
    assert res.returncode == 2 and res.stdout == ""
    assert "does not match its sha256" in res.stderr and "Traceback" not in res.stderr


def test_info_describes_every_file(lstm_dir):
    res = run_module("runtime", "info", str(lstm_dir))
    assert res.returncode == 0
    for name in ("model_float32.tflite", "model_int8.tflite", "model.onnx"):
        assert name in res.stdout
    assert "window 50" in res.stdout and "pass" in res.stdout


def test_ctrl_c_ends_with_the_summary(lstm_dir):
    proc = start_stream(lstm_dir, "--input", "sim", "--rate", "200")
    lines = [proc.stdout.readline() for _ in range(60)]  # header + 59 samples, paced
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    read = int(err.split("summary: ")[1].split()[0])
    assert read == len(lines) - 1 + rest.count("\n")  # every sample read was also written
    assert "Traceback" not in err
