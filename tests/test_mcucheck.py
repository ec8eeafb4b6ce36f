"""The generated C on microcontrollers: a real cross compiler, newlib and QEMU's Cortex-M boards."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from tests.conftest import run_module

TOOLS = ("arm-none-eabi-gcc", "qemu-system-arm")
needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in TOOLS), reason="no Arm toolchain or QEMU: make mcu-tools"
)


@needs_tools
def test_each_source_holds_its_bound_on_a_cortex_m4f_and_m0(test_artifacts, tmp_path):
    """The GRU test model: float32, int8 and integer sources on the Cortex-M4F (hardware float,
    DSP instructions), int8 (software float) and the integer-only source on the Cortex-M0, each
    forecast against Keras's and this machine's."""
    folder = test_artifacts / "gru"
    report = tmp_path / "mcu-check.md"
    res = run_module("mcucheck", "--artifacts", str(folder), "--out", str(report), timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = json.loads(report.with_suffix(".json").read_text())
    assert [(r["machine"], r["source"]) for r in rows] == [
        ("mps2-an386", "forecaster_float32.c"),
        ("mps2-an386", "forecaster_int8.c"),
        ("mps2-an386", "forecaster_integer.c"),
        ("microbit", "forecaster_int8.c"),
        ("microbit", "forecaster_integer.c"),
    ]
    params = json.loads((folder / "model.json").read_text())["model"]["params"]
    for r in rows:
        assert r["passed"] and r["max_dev"] <= r["tolerance"]
        assert r["apart_from_here"] <= r["tolerance"]
        assert r["instructions_step"] > params  # a multiply-add each, at least
        assert 0 < r["stack_bytes"] < 4096 and r["stream_bytes"] > 0
        # the weights are in the source's flash: 4 bytes each as floats, 1 as int8
        weight = 4 if r["source"].endswith("float32.c") else 1
        assert weight * params < r["flash_source"] < weight * params + 16_000
    for r in rows[:2] + rows[3:4]:  # ef_push's forecasts too
        assert r["push_apart"] <= r["tolerance"]
    m4f = {r["source"]: r for r in rows if r["machine"] == "mps2-an386"}
    m0 = {r["source"]: r for r in rows if r["machine"] == "microbit"}
    int8, integer = m0["forecaster_int8.c"], m0["forecaster_integer.c"]
    # the M4's SMLAD path gives the portable integer source's forecasts to the bit, in fewer
    # instructions than its int8-weights source (float arithmetic on int8 weights)
    m4_integer = m4f["forecaster_integer.c"]
    assert m4_integer["apart_from_here"] == 0
    assert m4_integer["instructions_step"] < m4f["forecaster_int8.c"]["instructions_step"]
    assert int8["instructions_step"] > 5 * m4f["forecaster_int8.c"]["instructions_step"]  # no FPU
    # the M4F's assembly products and inlined exponentials (export/c_kernels.py): 3,992
    # instructions for this model's 929 parameters, 7,083 with GCC's loop and newlib's expf
    assert m4f["forecaster_float32.c"]["instructions_step"] < 5 * params
    # integers throughout (mcucheck refuses a build that calls software float): the same
    # forecasts to the bit as this machine's, no C library's data, and a tenth of the
    # instructions software float takes (17x fewer here, measured)
    assert integer["apart_from_here"] == 0 and integer["ram_libraries"] == 0
    assert 10 * integer["instructions_step"] < int8["instructions_step"]
    assert "## Cortex-M4F" in report.read_text()


@needs_tools
def test_the_m4s_smlad_path_gives_the_portable_integer_sources_forecasts(test_artifacts, tmp_path):
    """An LSTM's gates four columns at a time by SMLAD (the GRU above takes the portable loop),
    a first layer of one input and a second of 16: on the M4F the same forecasts to the bit as
    the portable C built here, within the bound of Keras's."""
    report = tmp_path / "mcu-check.md"
    res = run_module(
        "mcucheck", "--artifacts", str(test_artifacts / "lstm2"), "--mcu", "m4f",
        "--source", "integer", "--out", str(report), timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    (row,) = json.loads(report.with_suffix(".json").read_text())
    assert row["source"] == "forecaster_integer.c" and row["machine"] == "mps2-an386"
    assert row["passed"] and row["apart_from_here"] == 0


def test_without_the_arm_tools_it_says_what_to_run(test_artifacts, tmp_path):
    env = os.environ | {"PATH": os.path.dirname(sys.executable)}
    res = run_module(
        "mcucheck", "--artifacts", str(test_artifacts / "gru"), "--out", str(tmp_path / "m.md"),
        env=env,
    )  # fmt: skip
    assert res.returncode == 4 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "make mcu-tools" in res.stderr


@needs_tools
def test_an_integer_build_that_calls_software_float_is_refused(test_artifacts, tmp_path):
    """The check that keeps the integer source free of float bites: one float multiply added to
    a copy of it, and the Cortex-M0 build is refused, naming the routine."""
    from mcucheck.build import build
    from mcucheck.targets import TARGETS
    from runtime.errors import UserError

    folder = tmp_path / "gru"
    shutil.copytree(test_artifacts / "gru", folder)
    source = folder / "c" / "forecaster_integer.c"
    source.write_text(source.read_text() + "\nfloat efi_scaled(float a) { return a * 1.5f; }\n")
    with pytest.raises(UserError, match="calls software float: __aeabi_fmul"):
        build(folder, "integer", TARGETS["m0plus"], tmp_path / "work")
