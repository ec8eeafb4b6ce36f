"""Shared fixtures: the small real models of tests/make_artifacts.py, built once."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HAS_TF = importlib.util.find_spec("tensorflow") is not None
if HAS_TF:
    # training/ sets TensorFlow's environment (no oneDNN: the CLIs' arithmetic), which TensorFlow
    # reads once, when first imported: before any test module imports keras, or a training in
    # this process would differ from one in its own process in the last bits (7e-8)
    import training  # noqa: F401
# The runtime under test: the source tree's `runtime`, or (EDGE_RUNTIME=edge_forecaster_runtime,
# as `make test` runs them once) the package installed from the wheel. Every `runtime` import of
# the tests, and every `python -m runtime` they start, then goes to the installed package.
RUNTIME = os.environ.get("EDGE_RUNTIME", "runtime")
PROG = "python -m runtime" if RUNTIME == "runtime" else "edge-forecast"


def _alias(name: str) -> None:
    """Make `import runtime[.x]` import the installed package `name`[.x]."""
    package = importlib.import_module(name)
    assert "site-packages" in package.__file__, f"{name} is not installed: {package.__file__}"
    sys.modules["runtime"] = package
    for module in pkgutil.iter_modules(package.__path__):
        full = importlib.import_module(f"{name}.{module.name}")
        sys.modules[f"runtime.{module.name}"] = full


if RUNTIME != "runtime":
    _alias(RUNTIME)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `tensorflow` need the training environment: fail loudly elsewhere if run."""
    for item in items:
        if "tensorflow" in item.keywords and not HAS_TF:
            item.add_marker(pytest.mark.skip(reason="needs the training environment"))


@pytest.fixture(scope="session")
def test_artifacts() -> Path:
    """Root of the exported test models (EDGE_TEST_ARTIFACTS, made by `make test`)."""
    root = Path(os.environ.get("EDGE_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))
    if not (root / ".stamp").exists():
        if not HAS_TF:
            pytest.fail(f"no test models in {root}: run `make test` (it builds them first)")
        subprocess.run(
            [sys.executable, "-m", "tests.make_artifacts", str(root)], check=True, cwd=REPO
        )
        (root / ".stamp").touch()
    return root.resolve()


def run_module(
    module: str, *args: str, stdin: str | None = None, timeout: float = 120, **kw: object
) -> subprocess.CompletedProcess:
    """Run `python -m module args` from the repo root, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", RUNTIME if module == "runtime" else module, *args],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=REPO,
        timeout=timeout,
        **kw,
    )


def run_here(module: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m module args` run in this test process, from the repo root: its output and exit
    code as run_module gives them, without paying TensorFlow's import again (about 7 s each).
    For CLIs whose Python-level behaviour is under test; start-up noise needs run_module."""
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()  # what one run built does not leak on
    from fleet.job import run_here as run_cli  # here: the emulated Pi gets tests/, not fleet/

    out, err, argv = io.StringIO(), io.StringIO(), sys.argv
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            contextlib.chdir(REPO),
        ):
            code = run_cli([module, *args])
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess([module, *args], code, out.getvalue(), err.getvalue())
