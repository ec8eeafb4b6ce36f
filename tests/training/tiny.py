"""A tiny real training run, for the tests that need a model, not an accurate one."""

from __future__ import annotations

from tests.conftest import run_here

TINY = [
    "--rows",
    "400",
    "--units",
    "8",
    "--epochs",
    "2",
    "--stream-epochs",
    "0",  # no stream tuning (its own test asks for it): 4 s less a training
    "--target",
    "level",
]


def train(out, *args, run=run_here):
    """`python -m training` with TINY and args into out (in this process by default)."""
    res = run("training", "--out", str(out), *TINY, *args)
    assert res.returncode == 0, res.stderr
    return res
