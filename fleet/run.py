"""Run a fleet on Dask: one task per series, resumable, every series reported."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import UserError
from runtime.files import replacing
from runtime.manifest import find_entry, read_manifest, verify

from . import job as jobs
from . import report
from .inputs import SeriesInput, count_rows

JOB_FILE = "job.json"  # the input's sha256 and the settings a series' folder was made with


@dataclass(frozen=True)
class Settings:
    """What every series of a fleet is trained and exported with."""

    column: str | None = "value"
    train_fraction: float | None = None  # None: the whole series, as `training` does
    train_args: list[str] = field(default_factory=list)
    export_args: list[str] = field(default_factory=list)

    def rows(self, path: Path) -> int | None:
        """Rows of this series to train on."""
        if self.train_fraction is None:
            return None
        return max(1, math.floor(self.train_fraction * count_rows(path)))


def job_key(csv: bytes, rows: int | None, settings: Settings) -> dict:
    """The sha256 of the input and the settings a series' folder must have been made with."""
    return {
        "input_sha256": hashlib.sha256(csv).hexdigest(),
        "rows": rows,
        "column": settings.column,
        "train_args": settings.train_args,
        "export_args": settings.export_args,
    }


def complete(folder: Path, key: dict) -> bool:
    """True when the folder was made from the same input and settings and every file the
    manifest lists is present and intact."""
    try:
        if json.loads((folder / JOB_FILE).read_text()) != key:
            return False
        for f in read_manifest(folder)["files"]:
            verify(find_entry(folder / f["file"]))
    except (OSError, ValueError, UserError):
        return False
    return True


def save(outcome: jobs.Outcome, folder: Path, key: dict) -> None:
    """Replace the series' folder by what its task wrote; the job file last, so an interrupted
    save is never taken for a finished series."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with replacing(folder, folder=True) as tmp:
        for name, content in outcome.files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(content)
        (tmp / jobs.LOG).write_text(outcome.log)
        if outcome.error is None:
            (tmp / JOB_FILE).write_text(json.dumps(key, indent=2) + "\n")


def client_for(workers: int, scheduler: str | None):
    """A Dask client: on a LocalCluster of `workers` processes, or on the scheduler given."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except OSError as e:
            raise UserError(
                f"cannot reach the Dask scheduler at {scheduler} ({e}): start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS` (see docs/fleet.md)"
            ) from None
    # one thread per worker: each task trains with TensorFlow, which uses the cores it finds
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster)


def run_fleet(
    series: list[SeriesInput],
    out: Path,
    settings: Settings,
    workers: int = 2,
    scheduler: str | None = None,
    rows_for: Callable[[SeriesInput], int | None] | None = None,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> list[dict]:
    """Train and export every series into out/<name>/; write fleet.json and fleet.md; return
    the rows (a failed series has its error in its row, and never stops the others)."""
    out.mkdir(parents=True, exist_ok=True)
    todo, rows, keys = [], {}, {}
    for s in series:
        csv = s.path.read_bytes()
        n = rows_for(s) if rows_for else settings.rows(s.path)
        keys[s.name] = job_key(csv, n, settings)
        folder = out / s.name
        if complete(folder, keys[s.name]):
            rows[s.name] = report.series_row(folder, s.name, 0.0, None) | {"resumed": True}
            continue
        todo.append(
            jobs.Job(s.name, csv, settings.column, n, settings.train_args, settings.export_args)
        )
    say(
        f"fleet: {len(series)} series, {len(series) - len(todo)} already done, "
        f"{len(todo)} to train and export -> {out}/"
    )
    t0 = time.perf_counter()
    if todo:
        with client_for(workers, scheduler) as client:
            rows |= run_jobs(client, todo, out, keys, progress)
    ordered = [rows[s.name] for s in series]
    report.write(
        out,
        ordered,
        {
            "column": settings.column,
            "train_fraction": settings.train_fraction,
            "train_args": settings.train_args,
            "export_args": settings.export_args,
            "workers": workers if not scheduler else None,
            "scheduler": scheduler,
            "wall_seconds": round(time.perf_counter() - t0, 1),
        },
    )
    return ordered


def run_jobs(client, todo: list[jobs.Job], out: Path, keys: dict, progress: bool) -> dict:
    """Each job as a task on the cluster, its folder saved as it finishes: the rows by name."""
    from distributed import as_completed
    from tqdm import tqdm

    rows = {}
    futures = {client.submit(jobs.run, j, key=f"series-{j.name}", pure=False): j for j in todo}
    bar = tqdm(total=len(todo), unit="series", disable=not progress)
    for future in as_completed(futures):
        name = futures[future].name
        try:
            outcome = future.result()
        except Exception as e:  # a worker that died, or a task that raised
            outcome = jobs.Outcome(name, {}, "", 0.0, f"the task failed: {type(e).__name__}: {e}")
        save(outcome, out / name, keys[name])
        rows[name] = report.series_row(out / name, name, outcome.seconds, outcome.error)
        bar.set_postfix_str(name[-30:])
        bar.update()
        if outcome.error:
            tqdm.write(f"{name}: {outcome.error}")
    bar.close()
    return rows
