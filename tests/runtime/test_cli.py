"""`python -m runtime` end to end: files with bad lines, stdin, sim, a pseudo-terminal, refusals."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import signal
import subprocess
import threading
import tty
import warnings

import numpy as np
import pytest

from runtime import Stream, open_model
from tests.conftest import PYTHON, REPO, run_module

from .conftest import FLOAT, needs_tflite, runnable

HAS_SERIAL = importlib.util.find_spec("serial") is not None
HEADER = "index,value,prediction,residual,score,anomaly,out_of_range,forecast"


@pytest.fixture(scope="module")
def samples(lstm_dir):
    """120 samples of the test model's own series, in data units."""
    f = open_model(lstm_dir, mode="window")
    return f.norm.invert(np.load(lstm_dir / "windows.npz")["series"][:120]).tolist()


def api_predictions(folder, values, variant=FLOAT, mode=None):
    """The API's forecasts; by default in the mode `stream` runs (the manifest's best_mode)."""
    stream = Stream(open_model(folder, variant, mode))
    return [stream.push(v) for v in values]


def start_stream(model, *args):
    """`python -m runtime stream --model MODEL ARGS` running in the background, text pipes."""
    cmd = [*PYTHON, "-m", "runtime", "stream", "--model", str(model), *args]
    # A shell's background job ignores SIGINT and its children inherit that (the runtime keeps
    # an ignored SIGINT ignored): the stream gets Ctrl-C as a terminal would deliver it.
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def finish(proc: subprocess.Popen, timeout: float = 30) -> tuple[str, str]:
    """The rest of proc's stdout and stderr once it exits, read through the pipes' buffers:
    communicate() reads the raw pipes and drops lines a readline() had already buffered."""
    watchdog = threading.Timer(timeout, proc.kill)  # a hang becomes a failure
    watchdog.start()
    try:
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait()
    finally:
        watchdog.cancel()
    return out, err


def parse_csv(stdout):
    lines = stdout.strip().splitlines()
    assert lines[0] == HEADER
    rows = [line.split(",") for line in lines[1:]]
    # (index, value, forecast of the next sample, out of range)
    return [
        (int(i), float(v), float(f) if f else None, o == "1") for i, v, _, _, _, _, o, f in rows
    ]


def assert_same_predictions(rows, expected):
    got = [p for _, _, p, _ in rows]
    assert [g is None for g in got] == [e is None for e in expected]
    pairs = [(g, e) for g, e in zip(got, expected, strict=True) if e is not None]
    np.testing.assert_allclose(*zip(*pairs, strict=True), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("mode", [None, "window", "step"])
def test_an_app_and_stream_run_the_same_file_to_the_bit(lstm_dir, samples, mode):
    """open_model(folder) + Stream, as the README embeds them, and `stream --model folder`: the
    same file (the manifest's best mode unless asked), the same forecasts bit for bit."""
    text = "\n".join(repr(v) for v in samples) + "\n"
    args = ["--mode", mode] if mode else []
    res = run_module(
        "runtime", "stream", "--model", str(lstm_dir), *args, "--format", "jsonl", stdin=text
    )
    assert res.returncode == 0, res.stderr
    model = open_model(lstm_dir, mode=mode)
    assert f"{model.variant} {model.mode} file" in res.stderr
    printed = [json.loads(line)["forecast"] for line in res.stdout.splitlines()]
    expected = [
        None if p is None else float(p) for p in api_predictions(lstm_dir, samples, None, mode)
    ]
    assert printed == expected and expected[-1] is not None


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


@needs_tflite
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
        "score": None,
        "anomaly": False,
        "out_of_range": False,
        "forecast": None,
    }
    expected = api_predictions(lstm_dir, samples[:60], "int8", "window")
    np.testing.assert_allclose([r["forecast"] for r in rows[49:]], expected[49:], rtol=1e-9)
    # a line's prediction is the forecast made for its own sample: value - prediction = residual
    for before, row in itertools.pairwise(rows[49:]):
        assert row["prediction"] == before["forecast"]
        assert row["residual"] == pytest.approx(row["value"] - row["prediction"], abs=1e-12)


def test_values_outside_the_training_range_are_passed_through_and_flagged(lstm_dir):
    text = "\n".join(["0.5"] * 55 + ["5.0", "0.5"]) + "\n"
    res = run_module("runtime", "stream", "--model", str(lstm_dir), stdin=text)
    rows = parse_csv(res.stdout)
    assert [r[3] for r in rows].count(True) == 1 and rows[55][3]
    assert rows[55][2] is not None and "1 out of range" in res.stderr


@pytest.mark.parametrize("model", ["lstm", "drift"])
def test_a_sample_past_float32_is_refused_and_the_stream_goes_on(test_artifacts, model, capfd):
    """1e308 and -1e308 (past what float32 holds, absurdly far from any training range) are
    refused: Stream.push raises ValueError and the stream is as if they had not come (no numpy
    warning on any file this environment runs, each streamed in this process with warnings
    raised as errors, nothing written to stderr even by an interpreter's native code); the
    command line says so in a line each and goes on."""
    folder = test_artifacts / model
    values = [0.5] * 60 + [1e308, -1e308, math.nan] + [0.5] * 60
    for file, backend in runnable(folder):
        capfd.readouterr()
        stream, plain = (Stream(open_model(folder / file, backend=backend)) for _ in range(2))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for v in values:
                try:
                    forecast = stream.push(v)
                except ValueError as e:
                    assert "absurdly far" in str(e) or "not a finite number" in str(e), file
                    continue
                assert forecast == plain.push(v) and stream.count == plain.count, file
        assert forecast is not None and stream.count == 120, file
        assert capfd.readouterr().err == "", file
    text = "\n".join(map(repr, values)) + "\n"
    res = run_module("runtime", "stream", "--model", str(folder), stdin=text)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    said = "warning: line 61: 1e+308 is absurdly far from the model's training range"
    assert lines[0].startswith(said) and lines[1].startswith("warning: line 62: -1e+308 is")
    assert lines[0].endswith("a fault, not a reading; skipped")
    assert lines[2] == "warning: line 63: 'nan' is not a finite number; skipped"
    assert len(lines) == 4 and lines[3].startswith("summary: 120 samples read, ")
    assert ", 3 skipped, " in lines[3]


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
    fields = ["prediction", "residual", "score", "anomaly", "out_of_range", "forecast"]
    assert lines[0] == "index," + ",".join(
        f"{n}{'_' + f if f else ''}" for n in "ab" for f in ["", *fields]
    )
    last = lines[-1].split(",")
    want_a = api_predictions(lstm_dir, samples[:70])[-1]
    want_b = api_predictions(lstm_dir, [-x for x in samples[:70]])[-1]
    np.testing.assert_allclose([float(last[7]), float(last[14])], [want_a, want_b], rtol=1e-5)


def test_sim_source_streams_count_samples(lstm_dir):
    args = ["stream", "--model", str(lstm_dir), *"--input sim --count 80 --format jsonl".split()]
    res = run_module("runtime", *args)
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 0 and len(rows) == 80
    assert rows[48]["forecast"] is None and rows[49]["forecast"] is not None
    assert rows[49]["prediction"] is None and rows[50]["prediction"] == rows[49]["forecast"]
    assert run_module("runtime", *args).stdout == res.stdout  # seeded


def test_closed_stdout_ends_quietly(lstm_dir):
    cmd = f"{' '.join(PYTHON)} -m runtime stream --model {lstm_dir} --input sim | head -n 3"
    res = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert res.stdout.count("\n") == 3
    assert "Traceback" not in res.stderr and "Error" not in res.stderr


@pytest.mark.skipif(HAS_SERIAL, reason="pyserial is installed")
def test_a_serial_port_without_pyserial_says_what_to_install(lstm_dir):
    master, slave = os.openpty()  # a real serial-like device
    try:
        port = os.ttyname(slave)
        res = run_module("runtime", "stream", "--model", str(lstm_dir), "--input", port)
    finally:
        os.close(master)
        os.close(slave)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "needs pyserial: pip install pyserial" in res.stderr


@pytest.mark.skipif(not HAS_SERIAL, reason="needs pyserial")
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
        rest, err = finish(proc)
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
    default = folder / open_model(lstm_dir).entry.path.name  # the file `stream` would run
    data = bytearray(default.read_bytes())
    data[len(data) // 2] ^= 0xFF
    default.write_bytes(bytes(data))
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
    rest, err = finish(proc)
    assert proc.returncode == 130
    read = int(err.split("summary: ")[1].split()[0])
    assert read == len(lines) - 1 + rest.count("\n")  # every sample read was also written
    assert "Traceback" not in err


def run_bytes(model, data: bytes, *args):
    """`python -m runtime stream` fed raw bytes on stdin (text mode could not send them)."""
    cmd = [*PYTHON, "-m", "runtime", "stream", "--model", str(model), *args]
    res = subprocess.run(cmd, cwd=REPO, input=data, capture_output=True, timeout=120)
    return res.returncode, res.stdout.decode(), res.stderr.decode("utf-8", "replace")


def test_a_10_mb_line_is_one_bad_line_and_the_stream_goes_on(lstm_dir, samples):
    lines = [repr(v).encode() for v in samples[:70]]
    lines.insert(30, b"1" * 10_000_000)
    code, out, err = run_bytes(lstm_dir, b"\n".join(lines) + b"\n")
    assert code == 0, err
    assert "warning: line 31: line longer than 4096 bytes; skipped" in err
    assert_same_predictions(parse_csv(out), api_predictions(lstm_dir, samples[:70]))
    assert "summary: 70 samples read, 21 predicted, 1 skipped" in err and "Traceback" not in err


def test_undecodable_and_malformed_lines_are_bad_lines(lstm_dir, samples):
    rng = np.random.default_rng(0)
    junk = [rng.bytes(300).replace(b"\n", b""), b"1.5\r2.5", b'"unterminated,1', b"\x00\x01"]
    lines = [repr(v).encode() for v in samples[:60]]
    for i, j in enumerate(junk):
        lines.insert(10 + 10 * i, j)
    code, out, err = run_bytes(lstm_dir, b"\n".join(lines) + b"\n")
    assert code == 0, err
    assert_same_predictions(parse_csv(out), api_predictions(lstm_dir, samples[:60]))
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 4 and "line 11: not UTF-8 text: b'" in warnings[0]
    assert all(line.isascii() and len(line) < 200 for line in err.splitlines())


def test_random_bytes_say_what_input_was_expected(lstm_dir):
    code, out, err = run_bytes(lstm_dir, np.random.default_rng(1).bytes(20_000))
    assert code == 2 and out.strip() == HEADER
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: no line of the input held a reading (expected numbers, one")
    assert len(last) < 300 and last.isascii() and "Traceback" not in err


def test_help_and_refused_option_values():
    res = run_module("runtime", "stream", "--help")
    assert res.returncode == 0 and "10% beyond" in " ".join(res.stdout.split())
    assert "%%" not in res.stdout
    for option, value in (("--rate", "-5"), ("--count", "-1"), ("--baud", "0"), ("--rate", "x")):
        res = run_module("runtime", "stream", option, value, "--input", "sim")
        assert res.returncode == 2 and res.stdout == ""
        assert res.stderr == (
            f"error: argument {option}: expected a number above 0, got {value!r} "
            f"(see python -m runtime stream --help)\n"
        )


def test_sim_lives_in_the_models_range(lstm_dir):
    res = run_module(
        "runtime", "stream", "--model", str(lstm_dir), *"--input sim --count 1000".split()
    )
    rows = parse_csv(res.stdout)
    values = open_model(lstm_dir).norm.apply([r[1] for r in rows])
    flagged = sum(r[3] for r in rows)
    assert flagged <= 5 and "summary: 1000 samples read" in res.stderr  # only spikes leave it
    assert np.ptp(values) > 1.2 and np.median(np.abs(values)) < 0.8


def test_verify_holds_every_runnable_file_to_its_bound(lstm_dir):
    res = run_module("runtime", "verify", str(lstm_dir), timeout=600)  # minutes under qemu
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [line for line in res.stdout.splitlines() if " B  max dev " in line]
    assert lines and all(line.split("(bound")[1].split()[1] == "ok" for line in lines)
    assert "file/interpreter pair(s) within their bounds" in res.stdout


@needs_tflite
def test_verify_names_a_file_over_a_tightened_bound(lstm_dir):
    res = run_module("runtime", "verify", str(lstm_dir), "--tolerance", "int8=1e-4", timeout=600)
    assert res.returncode == 1
    assert res.stderr.startswith("error: over its bound on this machine: model_int8.tflite on ")
    assert "step_int8" not in res.stderr and "Traceback" not in res.stderr


@needs_tflite
def test_verify_refuses_a_damaged_reference_or_model(lstm_dir, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(lstm_dir, folder)
    data = bytearray((folder / "reference.npz").read_bytes())
    data[-100] ^= 0xFF
    (folder / "reference.npz").write_bytes(bytes(data))
    res = run_module("runtime", "verify", str(folder))
    assert res.returncode == 2 and "reference.npz does not match its sha256" in res.stderr
    shutil.copy(lstm_dir / "reference.npz", folder / "reference.npz")
    with (folder / "model_int8.tflite").open("ab") as f:
        f.write(b"x")  # a damaged model file is an error too, not a file to skip
    res = run_module("runtime", "verify", str(folder), timeout=600)
    assert res.returncode == 2 and "error: model_int8.tflite has " in res.stderr
