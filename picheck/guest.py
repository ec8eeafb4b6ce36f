"""The emulated Pi's side: its venvs (from the device requirement files), the runtime's wheel, the
files and the runtime's tests copied in, and those tests run there."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from runtime.errors import UserError

from .rootfs import PI_OS, chroot

REPO = Path(__file__).resolve().parent.parent
# the emulated system's venvs, each from a device requirements file (None: a venv that sees
# Debian's numpy, for armhf), and which venv runs what
GUEST_VENVS = {
    "venv-device": "requirements-device-onnx.txt",
    "venv-classic": "requirements-classic.txt",
}
GUEST_VENV = {
    "litert": "venv-device",
    "onnxruntime": "venv-device",
    "tflite-runtime": "venv-classic",
    "numpy": "venv-device",
    "c": "venv-device",  # the C files, compiled by the Pi's own gcc
}
ARMHF_VENVS = {"venv-armhf": None}
ARMHF_VENV = GUEST_VENV | {"numpy": "venv-armhf", "c": "venv-armhf"}
# venvs a release cannot have: tflite-runtime's last release (2.14) has wheels up to Python 3.11;
# PyPI has no armv7l (32-bit) wheel of any interpreter, nor of numpy
NOT_INSTALLABLE = {
    "trixie": {
        "venv-classic": "not installable: tflite-runtime has no wheel for Python 3.13 (its last "
        "release, 2.14, stops at 3.11)"
    },
    "bookworm-armhf": {
        "venv-device": "not installable: no armv7l wheel of ai-edge-litert or onnxruntime",
        "venv-classic": "not installable: no armv7l wheel of tflite-runtime",
    },
}


def guest_layout(pi_os: str) -> tuple[dict, dict, dict]:
    """The emulated OS's venvs to build, the venv that runs each backend, and the venvs it
    cannot have (with why)."""
    missing = NOT_INSTALLABLE.get(pi_os, {})
    arch = PI_OS[pi_os][1]
    venvs, runs = (ARMHF_VENVS, ARMHF_VENV) if arch == "armhf" else (GUEST_VENVS, GUEST_VENV)
    return {v: r for v, r in venvs.items() if v not in missing}, runs, missing


# The emulated Pi runs the runtime as a device would: installed from the wheel, no source tree
GUEST_RUNTIME = "installed"


def prepare_guest(root: Path, cpu: str, artifacts: Path, say: object, venvs: dict) -> None:
    """Copy the runtime's wheel, its tests, the C example and the files in; build the venvs from
    the device files and install the wheel into each."""
    from release.__main__ import build

    work = root / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    shutil.copytree(REPO / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "examples", work / "examples")  # the C example, built by a test
    wheel = build(work / "dist").name
    for f in (
        "pyproject.toml",
        "requirements-device.txt",
        "requirements-device-onnx.txt",
        "requirements-classic.txt",
        "requirements-test.txt",
    ):
        shutil.copy(REPO / f, work / f)
    shutil.copytree(artifacts, work / "artifacts")
    tests = REPO / "build" / "test-artifacts"
    if (tests / ".stamp").exists():
        shutil.copytree(tests, work / "build" / "test-artifacts")
    pytest_pin = next(
        ln
        for ln in (REPO / "requirements-test.txt").read_text().splitlines()
        if ln.startswith("pytest")
    )
    for venv, reqs in venvs.items():
        stamp = root / "opt" / venv / ".stamp"
        want = ((REPO / reqs).read_text() if reqs else "Debian's numpy\n") + pytest_pin
        if stamp.exists() and stamp.read_text() == want:
            continue
        what = reqs or "Debian's python3-numpy"
        say(f"creating /opt/{venv} in the emulated system from {what} (once, ~1-2 min) ...")
        t0 = time.perf_counter()
        make = "--system-site-packages " if reqs is None else ""
        install = f"-r /work/{reqs} " if reqs else ""
        proc = chroot(
            root,
            cpu,
            f"rm -rf /opt/{venv} && python3 -m venv {make}/opt/{venv} && "
            f"/opt/{venv}/bin/pip install -q {install}'{pytest_pin}'",
        )
        if proc.returncode != 0:
            raise UserError(
                f"pip install in the emulated Pi failed ({venv}): {proc.stderr.strip()[-600:]}"
            )
        stamp.write_text(want)
        say(f"  {time.perf_counter() - t0:.0f}s")
    for venv in venvs:
        install = f"/opt/{venv}/bin/pip install -q --no-deps --force-reinstall /work/dist/{wheel}"
        proc = chroot(root, cpu, install)
        if proc.returncode != 0:
            raise UserError(f"installing {wheel} in the emulated Pi failed: {proc.stderr[-600:]}")


def guest_tests(root: Path, cpu: str, venv: str) -> tuple[str, bool]:
    """The runtime's tests in one of the emulated system's venvs: (summary line, passed)."""
    t0 = time.perf_counter()
    proc = chroot(
        root,
        cpu,
        f"cd /work && EDGE_RUNTIME={GUEST_RUNTIME} EDGE_TEST_ARTIFACTS=build/test-artifacts "
        f"/opt/{venv}/bin/python -m pytest -q -p no:cacheprovider tests/runtime",
    )
    out = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    summary = next(
        (ln for ln in reversed(out) if " passed" in ln or " failed" in ln),
        (out or ["no output"])[-1],
    )
    what = "numpy from Debian, gcc" if venv == "venv-armhf" else "ai-edge-litert + onnxruntime"
    line = f"Runtime tests ({what} venv, {cpu}): {summary} ({time.perf_counter() - t0:.0f}s)"
    return line, proc.returncode == 0
