"""Train and export the small real models the tests share: `python -m tests.make_artifacts DIR`.

Runs the real CLIs, so a failure here (including a parity failure) is a test failure.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from fleet._steps import run_here

NAB_AMBIENT = (
    Path(__file__).resolve().parents[2] / "shared/data/ambient_temperature_system_failure.csv"
)

# name -> training options: two stacked LSTM layers, the default model on a real NAB series, a
# GRU on the noisy sensor signal, the default model on the seed's data (fewer epochs), and a
# change model on a sine that drifts out of its training range, and a small change model of the
# next 4 samples of the sine. All but the last two forecast the
# level (the runtime tests feed them their own series), so each trains one target, not two;
# 3 epochs of stream tuning instead of 10 make step files from tuned weights at a third the cost.
LEVEL = ["--epochs", "4", "--stream-epochs", "3", "--target", "level"]
MODELS = {  # the longest to make first (lstm2 140 s, nab 120, gru 92, lstm 83, drift 74 here)
    "lstm2": ["--layers", "2", "--units", "16", *LEVEL, "--epochs", "6"],
    # a real series with labelled failures (NAB, beside the repository), if it is there
    "nab": ["--data", str(NAB_AMBIENT), "--column", "value", *LEVEL],
    "gru": ["--data", "sensor", "--rows", "1500", "--cell", "gru", "--units", "16", *LEVEL],
    "lstm": [*LEVEL, "--epochs", "8"],
    "drift": ["--data", "drift", "--target", "change", "--units", "16", "--epochs", "6"],
    "horizon": [
        *("--horizon", "4", "--target", "change", "--units", "8"),
        *("--epochs", "3", "--stream-epochs", "2"),
    ],
}


def make_one(root: Path, name: str) -> str:
    """Train and export one model into root/NAME in a process of its own; what it printed
    (raises if either step fails)."""
    cmd = [sys.executable, "-m", "tests.make_artifacts", "--one", str(root), name]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"test model {name} failed\n{res.stdout}{res.stderr}")
    return res.stdout + res.stderr


def train_and_export(root: Path, name: str) -> int:
    """`python -m training`, then `python -m export`, in this process, as a fleet's task runs
    them: TensorFlow's import is paid once, not twice; the exit code of the first that fails."""
    out = root / name
    for argv in (["training", "--out", str(out), *MODELS[name]], ["export", "--dir", str(out)]):
        print(f"$ python -m {' '.join(argv)}", flush=True)
        if code := run_here(argv):
            return code
    return 0


def make(root: Path, names: list[str] | None = None, jobs: int = 3) -> None:
    """Train and export each model into root/NAME, `jobs` at a time (much of the work is one
    thread: imports, conversions, calibration)."""
    names = list(names or MODELS)
    if "nab" in names and not NAB_AMBIENT.is_file():
        print(f"== no {NAB_AMBIENT}: the NAB test model is left out", flush=True)
        names.remove("nab")
    with ThreadPoolExecutor(jobs) as pool:
        running = {pool.submit(make_one, root, name): name for name in names}
        for done in as_completed(running):
            print(f"== test model {running[done]}\n{done.result()}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--one":
        sys.exit(train_and_export(Path(sys.argv[2]), sys.argv[3]))
    make(Path(sys.argv[1]), sys.argv[2:] or None)
