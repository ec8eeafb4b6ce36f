"""The generated C files (export/c.py), compiled by the system compiler: through the runtime's
ctypes backend, and as the plain C program of examples/c/stream.c."""

from __future__ import annotations

import csv
import io
import json
import platform
import shutil
import subprocess

import numpy as np
import pytest

from runtime import UserError, open_model
from tests.conftest import REPO, run_module

from .conftest import FLOAT, HAS_CC, MODELS, manifest_files

pytestmark = pytest.mark.skipif(not HAS_CC, reason="needs a C compiler")


def c_files(folder):
    return [f for f in manifest_files(folder) if f["format"] == "c"]


@pytest.fixture
def samples(lstm_dir):
    """The test model's own samples, data units."""
    return np.load(lstm_dir / "windows.npz")["values"].tolist()


@pytest.mark.parametrize("model", [*MODELS, "drift"])
def test_c_files_are_listed_with_flash_ram_and_their_header(test_artifacts, model):
    folder = test_artifacts / model
    files = {f["variant"]: f for f in c_files(folder)}
    assert set(files) == {"c_float32", "c_int8", "c_integer"}
    manifest = json.loads((folder / "manifest.json").read_text())
    sizes, period = manifest["files"], manifest["model"]["anomaly"]["period"]
    state = sum(
        next(f for f in sizes if f["variant"] == "float32" and f["mode"] == "step")["step"][
            "state_sizes"
        ]
    )
    for f in files.values():
        assert f["mode"] == "step" and f["parity"]["passed"]
        includes = {i["file"] for i in f["includes"]}  # the fixed C and the model's header
        if f["variant"] == "c_integer":  # its own header; its RAM the int16 state alone
            assert includes == {"c/forecaster_integer.h", "c/ef_integer.h"}
            assert f["ram_bytes"] == 2 * state
            continue
        assert includes == {
            f"c/{n}" for n in ("forecaster.h", "forecaster_model.h", "ef_float.h", "ef_stream.h")
        }
        assert f["ram_bytes"] >= 4 * (state + period) + 12  # state, seasonal profile, score
    # int8 weights: at least 3x less flash than float32's (the code beside them is the same)
    if model == "lstm":
        units = manifest["model"]["units"]
        weights = 4 * units * (units + 2) + units + 1  # one LSTM layer, one input, a dense head
        saved = files["c_float32"]["flash_bytes"] - files["c_int8"]["flash_bytes"]
        assert saved >= 4 * weights * 2 / 3


def test_generated_c_is_warning_free_strict_c99(test_artifacts, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    for model in (*MODELS, "drift"):
        for f in c_files(test_artifacts / model):
            source = test_artifacts / model / f["file"]
            flags = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2", "-c"]
            subprocess.run([cc, *flags, "-o", str(tmp_path / "f.o"), str(source)], check=True)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="-mgeneral-regs-only: GCC on x86-64")
def test_the_integer_source_has_no_float_anywhere(test_artifacts, tmp_path):
    """Compiled with the general-purpose registers only (no floating-point or vector ones), the
    integer source builds; the float sources cannot: the check bites."""
    cc = shutil.which("gcc")
    if cc is None or "gcc" not in subprocess.run([cc, "--version"], capture_output=True,
                                                 text=True).stdout.lower():  # fmt: skip
        pytest.skip("needs GCC")
    flags = ["-std=c99", "-O2", "-mgeneral-regs-only", "-c", "-o", str(tmp_path / "f.o")]
    for model in (*MODELS, "drift"):
        c = test_artifacts / model / "c"
        for source, builds in (("forecaster_integer.c", True), ("forecaster_float32.c", False)):
            res = subprocess.run([cc, *flags, str(c / source)], capture_output=True, text=True)
            assert (res.returncode == 0) == builds, (model, source, res.stderr[-500:])


@pytest.mark.parametrize("model", ["lstm", "drift", "horizon"])
def test_ef_window_is_a_stream_from_a_zero_state(test_artifacts, model):
    """ef_window (data units, EF_HISTORY samples; EF_HORIZON forecasts) against the float32 step
    file run over the same windows by the Python runtime: both within 1e-5 of Keras, so within
    2e-5 of each other."""
    import ctypes

    from runtime.compiler import shared_library

    folder = test_artifacts / model
    step = open_model(folder, FLOAT, "step")
    c = open_model(folder / "c/forecaster_float32.c")
    history = step.window + step.norm.lead
    values = np.load(folder / "windows.npz")["values"]
    starts = np.linspace(0, len(values) - history, 40).astype(int)
    windows = np.stack([values[s : s + history] for s in starts])
    want = step.norm.forecast(step.run_windows(step.norm.inputs(windows)), windows[:, -1])
    lib = ctypes.CDLL(str(shared_library(c.entry.path)))
    lib.ef_window.restype = None
    got = np.zeros((len(windows), step.horizon), np.float32)
    for w, out in zip(windows.astype(np.float32), got, strict=True):
        lib.ef_window(w.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
    # float32 data units add one rounding of the largest sample
    slack = 2e-5 * step.norm.output_scale + 1e-6 * np.abs(values).max()
    assert np.abs(got.reshape(np.shape(want)) - want).max() <= slack


def test_backend_c_streams_like_the_float32_step_file(lstm_dir, samples):
    text = "\n".join(f"{v!r}" for v in samples[:300]) + "\n"
    rows = {}
    for variant in (FLOAT, "c_float32"):
        res = run_module(
            "runtime",
            "stream",
            "--model",
            str(lstm_dir),
            "--variant",
            variant,
            "--mode",
            "step",
            stdin=text,
        )
        assert res.returncode == 0, res.stderr
        rows[variant] = list(csv.DictReader(io.StringIO(res.stdout)))
    assert "c_float32 step file on c" in res.stderr
    scale = open_model(lstm_dir, FLOAT, "step").norm.scale
    for a, b in zip(rows[FLOAT], rows["c_float32"], strict=True):
        assert (a["prediction"] == "") == (b["prediction"] == "")
        if a["prediction"]:
            assert abs(float(a["prediction"]) - float(b["prediction"])) <= 2e-5 * scale + 1e-5


@pytest.mark.parametrize(("asked", "runs"), [([], "c_float32"), (["--variant", "int8"], "c_int8")])
def test_asking_a_folder_for_the_c_backend_runs_the_c_file_of_the_precision(lstm_dir, asked, runs):
    """`--backend c` on a folder picks the C source of the precision asked (default float32),
    not the TFLite file of that name."""
    res = run_module(
        "runtime", "stream", "--model", str(lstm_dir), "--backend", "c", *asked, stdin="1\n2\n"
    )
    assert res.returncode == 0, res.stderr
    assert f"({runs} step file on c)" in res.stderr


def test_no_compiler_is_one_clear_line(lstm_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setenv("EDGE_FORECASTER_CACHE", str(tmp_path))  # nothing compiled yet
    res = run_module(
        "runtime", "stream", "--model", str(lstm_dir), "--variant", "c_float32", stdin="1\n"
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "no C compiler" in res.stderr
    assert "apt install gcc" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(UserError, match="install a C compiler"):
        open_model(lstm_dir / "c/forecaster_int8.c", backend="c")


@pytest.mark.parametrize(
    ("header", "was", "now"),
    [
        ("forecaster_model.h", "EF_WINDOW 50", "EF_WINDOW 49"),
        ("ef_float.h", "2.0f / (1.0f", "2.0f / (1.1f"),
    ],
)
def test_a_changed_header_is_refused(lstm_dir, tmp_path, header, was, now):
    """The model's header and the fixed C it includes are each held to their sha256."""
    folder = tmp_path / "copy"
    shutil.copytree(lstm_dir, folder)
    path = folder / "c" / header
    assert was in path.read_text()
    path.write_text(path.read_text().replace(was, now))
    with pytest.raises(UserError, match=rf"{header} is missing or does not match"):
        open_model(folder / "c/forecaster_float32.c")


def test_compiled_once_per_source(lstm_dir, tmp_path, monkeypatch):
    from runtime.compiler import shared_library

    monkeypatch.setenv("EDGE_FORECASTER_CACHE", str(tmp_path))
    source = lstm_dir / "c/forecaster_float32.c"
    first = shared_library(source)
    mtime = first.stat().st_mtime_ns
    assert shared_library(source) == first and first.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_the_c_example_prints_the_runtime_streams_columns(lstm_dir, samples, tmp_path):
    """examples/c/stream.c, built as `make c-demo` builds it, against `python -m runtime stream
    --mode step`: same columns, same rows, forecasts within the float32 bound (data units)."""
    exe = tmp_path / "c-stream"
    cc = shutil.which("cc") or shutil.which("gcc")
    c_dir = lstm_dir / "c"
    build = [cc, "-std=c99", "-O3", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", str(c_dir)]
    subprocess.run(
        [
            *build,
            "-o",
            str(exe),
            str(REPO / "examples/c/stream.c"),
            str(c_dir / "forecaster_float32.c"),
            "-lm",
        ],
        check=True,
    )
    values = list(samples[:400])
    for i in (250, 330):  # two spikes, for scores well above 0
        values[i] += 0.6
    text = "\n".join(f"{v!r}" for v in values) + "\nnot a number\n"
    c = subprocess.run([str(exe)], input=text, capture_output=True, text=True)
    py = run_module(
        "runtime",
        "stream",
        "--model",
        str(lstm_dir),
        "--variant",
        FLOAT,
        "--mode",
        "step",
        stdin=text,
    )
    assert c.returncode == py.returncode == 0
    assert "line 401: not a number; skipped" in c.stderr and "1 skipped" in c.stderr
    c_rows = list(csv.DictReader(io.StringIO(c.stdout)))
    py_rows = list(csv.DictReader(io.StringIO(py.stdout)))
    assert c_rows[0].keys() == py_rows[0].keys() and len(c_rows) == len(py_rows) == 400
    scale = open_model(lstm_dir, FLOAT, "step").norm.scale
    for a, b in zip(c_rows, py_rows, strict=True):
        assert float(a["value"]) == float(b["value"])
        assert (a["prediction"] == "") == (b["prediction"] == "")
        if a["prediction"]:
            assert abs(float(a["prediction"]) - float(b["prediction"])) <= 2e-5 * scale + 1e-5
        assert a["out_of_range"] == b["out_of_range"]
        # ef_push's anomaly score (float) against the runtime's (double)
        assert (a["score"] == "") == (b["score"] == "")
        if a["score"]:
            assert abs(float(a["score"]) - float(b["score"])) <= 1e-3
            assert a["anomaly"] == b["anomaly"]
    assert max(float(r["score"] or 0) for r in py_rows) > 0.5  # the spikes scored
