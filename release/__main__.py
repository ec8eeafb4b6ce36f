"""Build the runtime wheel: `python -m release` (make wheel).

-> dist/edge_forecaster_runtime-VERSION-py3-none-any.whl, built from pyproject.toml by the
standard front end (`uv build`, hatchling as the backend): the package `runtime` alone, with its
live page's files, the console script `edge-forecast`, and one extra per interpreter, one for
pyserial and one for paho-mqtt. `pip install .` installs the same package from the sources.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EPOCH = "1577836800"  # 2020-01-01: fixed file times, so a rebuild of the same sources is identical


def build(out: Path) -> Path:
    """Build the wheel into `out` with uv (beside this Python, else on PATH); returns its path."""
    uv = Path(sys.executable).with_name("uv")
    uv = str(uv) if uv.exists() else shutil.which("uv")
    if uv is None:
        raise SystemExit("error: no uv to build with: pip install uv (or python -m build)")
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    env = os.environ | {"SOURCE_DATE_EPOCH": EPOCH}
    cmd = [uv, "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"error: uv build failed: {res.stderr.strip()[-500:]}")
    made = sorted(set(out.glob("*.whl")) - before) or sorted(
        out.glob("edge_forecaster_runtime-*.whl")
    )
    return made[-1]


def main() -> None:
    """Parse --out, build, print the wheel's path."""
    parser = argparse.ArgumentParser(prog="python -m release", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (dist/)")
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
