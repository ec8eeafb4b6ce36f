"""`python -m export --c-library DIR`: the gated C files as a library folder a firmware project
drops in, built here by its own CMakeLists.txt, and for the Cortex-M4F and M0 by the same file
with arm-none-eabi-gcc, linked with the QEMU harness."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from export.c_library import write_library
from mcucheck.build import build, run
from mcucheck.targets import TARGETS
from runtime.errors import UserError
from runtime.forecaster import open_model
from runtime.stream import Stream
from tests.conftest import REPO, run_module

CC = shutil.which("cc") or shutil.which("gcc")
needs_cmake = pytest.mark.skipif(not (CC and shutil.which("cmake")), reason="no cmake or cc")
ARM = ("arm-none-eabi-gcc", "qemu-system-arm", "cmake")
ARDUINO_FIELDS = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category")
ARDUINO_FIELDS += ("url", "architectures")


def samples(folder) -> str:
    return "".join(f"{v!r}\n" for v in np.load(folder / "windows.npz")["values"].tolist())


@needs_cmake
@pytest.mark.parametrize("model", ["lstm", "horizon"])
def test_cmake_builds_the_library_and_its_example_streams_as_the_exported_files_do(
    test_artifacts, tmp_path, model
):
    """The CMake-built example prints, byte for byte, what examples/c/stream.c built with the
    export's own files prints (make c-demo's build); of a model of 4 samples ahead, the 4
    forecasts that Stream.push returns."""
    folder = test_artifacts / model
    lib = tmp_path / "EdgeForecaster"
    res = run_module("export", "--dir", str(folder), "--c-library", str(lib))
    assert res.returncode == 0, res.stderr
    assert {p.name for p in (lib / "src").iterdir()} == {
        "forecaster.h", "forecaster_model.h", "ef_float.h", "ef_stream.h", "forecaster_float32.c"
    }  # fmt: skip
    props = dict(ln.split("=", 1) for ln in (lib / "library.properties").read_text().splitlines())
    assert set(ARDUINO_FIELDS) <= set(props)  # the Arduino library specification's (1.5)
    assert props["name"] == "EdgeForecaster" and props["includes"] == "forecaster.h"
    assert props["version"].count(".") == 2 and props["category"] == "Data Processing"
    pio = json.loads((lib / "library.json").read_text())
    assert {"name", "version", "description", "keywords"} <= set(pio)  # PlatformIO's manifest
    assert pio["build"] == {"srcDir": "src", "includeDir": "src"}
    assert (lib / "examples/stream/stream.ino").is_file()
    out = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(lib), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["cmake", "--build", str(out)], check=True, capture_output=True)
    direct = tmp_path / "direct"
    subprocess.run(
        [CC, "-std=c99", "-O3", "-I", str(folder / "c"), "-o", str(direct),
         str(REPO / "examples/c/stream.c"), str(folder / "c/forecaster_float32.c"), "-lm"],
        check=True,
    )  # fmt: skip
    fed = samples(folder)
    runs = [
        subprocess.run([str(exe)], input=fed, capture_output=True, text=True, check=True)
        for exe in (out / "edge_forecaster_stream", direct)
    ]
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.count("\n") > 900
    if model == "horizon":
        assert_forecasts_as_the_runtime(folder, fed, runs[0].stdout)


def assert_forecasts_as_the_runtime(folder, fed: str, printed: str) -> None:
    """The example's forecast, forecast_2 .. forecast_4 columns are Stream.push's 4 forecasts
    on the float32 step file, within float32's bound and the print's 6 digits."""
    header, *lines = printed.splitlines()
    assert header.endswith(",forecast,forecast_2,forecast_3,forecast_4")
    st = Stream(open_model(folder, variant="float32", mode="step"))
    values = [float(v) for v in fed.split()]
    got, want = [], []
    for value, line in zip(values, lines, strict=True):
        ahead, cells = st.push(value), line.split(",")[-4:]
        assert (ahead is None) == (cells == [""] * 4), line
        if ahead is not None:
            got.append([float(c) for c in cells])
            want.append(ahead)
    slack = 2e-5 * st.model.norm.output_scale + 1e-5 * max(abs(v) for v in values)
    assert len(got) > 900 and np.abs(np.array(got) - np.array(want)).max() <= slack


def test_a_library_is_written_only_from_gated_files_and_never_over_other_things(
    test_artifacts, tmp_path
):
    folder = tmp_path / "copy"
    shutil.copytree(test_artifacts / "gru", folder)
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="is not a library folder"):
        write_library(folder, stranger, "int8")
    assert (stranger / "notes.txt").read_text() == "keep me"
    lib = tmp_path / "lib"
    assert "src/forecaster_integer.c" in write_library(folder, lib, "integer")
    assert "src/forecaster_int8.c" in write_library(folder, lib, "int8")  # over its own: fine
    assert not (lib / "src/forecaster_integer.c").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(f for f in manifest["files"] if f["variant"] == "c_int8")
    entry["parity"]["passed"] = False
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="missed its parity bound"):
        write_library(folder, lib, "int8")
    (folder / "c/ef_float.h").write_text("/* changed */")
    with pytest.raises(UserError, match=r"ef_float\.h is missing or does not match"):
        write_library(folder, lib, "float32")


@pytest.mark.skipif(not all(shutil.which(t) for t in ARM), reason="no Arm toolchain, QEMU, cmake")
@pytest.mark.parametrize(("target", "precision"), [("m4f", "float32"), ("m0plus", "integer")])
def test_on_a_cortex_m_the_library_runs_as_the_exported_source(
    test_artifacts, tmp_path, target, precision
):
    """The library's CMakeLists.txt cross-compiled for the core, linked with the QEMU harness:
    the same output, every forecast and instruction count, as the harness built from the
    export's files (which mcu-check holds to the gate's bound)."""
    folder = test_artifacts / "gru"
    lib = tmp_path / "lib"
    write_library(folder, lib, precision)
    t = TARGETS[target]
    from_export = run(build(folder, precision, t, tmp_path / "export"), t)
    from_library = run(build(folder, precision, t, tmp_path / "library", library=lib), t)
    assert from_library == from_export and "end" in from_library.split()
