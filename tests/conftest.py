"""Shared fixtures: the small real models of tests/make_artifacts.py, built once."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
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
# The runtime under test: the source tree's, or (EDGE_RUNTIME=installed, as `make test` runs the
# device tests) the package pip installed from the wheel. Then `runtime` is imported once with the
# repository left off sys.path, and every Python the tests start runs with -P (no working
# directory on its path): each `import runtime` and `python -m runtime` finds the installed one.
INSTALLED = os.environ.get("EDGE_RUNTIME") == "installed"
PYTHON = [sys.executable, "-P"] if INSTALLED else [sys.executable]
if INSTALLED:
    _path = sys.path[:]
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != REPO]
    import runtime

    sys.path[:] = _path
    assert "site-packages" in runtime.__file__, f"runtime is not installed: {runtime.__file__}"


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
        [*(PYTHON if module == "runtime" else [sys.executable]), "-m", module, *args],
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
    from fleet._steps import run_here as run_cli  # here: the emulated Pi gets tests/, not fleet/

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
