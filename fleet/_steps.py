"""A fleet task's child process: `python -m fleet._steps LOGS STEPS_JSON` (private: fleet/job.py
starts it) runs the project's CLIs one after the other in one process."""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path


def run_here(argv: list[str]) -> int:
    """`python -m argv[0] argv[1:]` in this process; its exit code."""
    sys.argv = argv
    try:
        runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        return e.code if isinstance(e.code, int) else int(e.code is not None)
    return 0


def run_steps(logs: Path, steps: list[list[str]]) -> None:
    """Each step in turn in this one process (TensorFlow's import is paid once, not per step),
    until one fails: its output in logs/N.out and N.err, its exit code in N.code."""
    for i, argv in enumerate(steps):
        with open(logs / f"{i}.out", "wb") as out, open(logs / f"{i}.err", "wb") as err:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)  # TensorFlow's C++ output too
            code = run_here(argv)
            sys.stdout.flush(), sys.stderr.flush()
        (logs / f"{i}.code").write_text(str(code))
        if code:
            return


if __name__ == "__main__":
    run_steps(Path(sys.argv[1]), json.loads(sys.argv[2]))
