"""The benchmark's models: the fleet trains each NAB file on its probationary rows alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fleet.inputs import SeriesInput, count_rows
from fleet.run import Settings, run_fleet

from .corpus import Series, probation_rows

# the files the benchmark streams: the float32 and int8 step files and the C int8 source
EXPORT_ARGS = ["--variants", "float32,int8,c_int8", "--modes", "step"]


def model_name(series: Series) -> str:
    """The fleet's folder for a NAB file, e.g. realKnownCause/nyc_taxi."""
    return series.name.removesuffix(".csv")


def train_models(
    series: list[Series],
    out: Path,
    workers: int = 2,
    scheduler: str | None = None,
    train_args: list[str] | None = None,
    say: Callable[[str], None] = print,
    export_args: list[str] | None = None,
) -> list[dict]:
    """Train and export a model per file on rows NAB never scores (min(15%, 750) rows): the
    detector has learnt nothing from a row before it is scored. export_args: the benchmark's
    step files unless given ([]: every file)."""
    inputs = [SeriesInput(model_name(s), s.path) for s in series]
    exported = EXPORT_ARGS if export_args is None else export_args
    return run_fleet(
        inputs,
        out,
        Settings("value", None, train_args or [], exported),
        workers,
        scheduler,
        rows_for=lambda s: probation_rows(count_rows(s.path)),
        say=say,
    )
