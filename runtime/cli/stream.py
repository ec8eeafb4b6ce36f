"""`stream`: forecast a live sample stream, one line out per sample, bad lines skipped."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .. import Stream, open_model
from ..errors import UserError
from ..sources import (
    Sample,
    bounded_lines,
    read_samples,
    serial_lines,
    simulated,
)
from ..windows import Normalization
from .args import add_model_options, positive
from .output import CtrlC, Output

DESCRIPTION = (
    "Read samples one at a time and print, per valid sample: index, value, prediction (the "
    "forecast made for this sample; empty until a window of samples is in), residual (value "
    "minus prediction), score (0 to 1: how unlikely the recent residuals are under those seen "
    "before), anomaly (1 if the score reaches the threshold), out_of_range (1 if the value is "
    "more than 10% beyond the training range) and forecast (of the next sample). Bad lines are "
    "reported on stderr and skipped; a summary ends the run."
)


def add(sub: argparse._SubParsersAction) -> None:
    """The stream command's parser."""
    s = sub.add_parser(
        "stream",
        help="forecast a stream of samples, one line out per sample",
        description=DESCRIPTION,
    )
    add_model_options(s)
    s.add_argument(
        "--input",
        default="-",
        help="- (stdin), a CSV/text file, a serial port (e.g. /dev/ttyUSB0) or sim: a seeded "
        "simulated sensor, scaled into the model's training range (default: -)",
    )
    s.add_argument(
        "--column", action="append", help="CSV column to forecast; repeat for several sensors"
    )
    s.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="output format")
    s.add_argument(
        "--baud", type=positive(int), default=115200, help="serial baud rate (default: 115200)"
    )
    s.add_argument("--count", type=positive(int), help="stop after N valid samples")
    s.add_argument(
        "--rate", type=positive(float), help="sim only: samples per second (default: no pause)"
    )
    s.add_argument("--seed", type=int, default=0, help="sim only: seed (default: 0)")
    s.set_defaults(run=run)


def open_source(args: argparse.Namespace, norm: Normalization) -> Iterator[Sample]:
    """The samples of --input: -, sim (fitted to the model's range), a serial port or a file."""
    columns = args.column or None
    src = args.input
    if src == "sim":
        if columns:
            raise UserError("--column does not apply to --input sim (one simulated sensor)")
        return simulated(args.count, args.rate, args.seed, norm)
    if src == "-":
        return read_samples(bounded_lines(sys.stdin.buffer), columns)
    path = Path(src)
    if path.is_char_device():
        return read_samples(serial_lines(src, args.baud), columns)
    if not path.is_file():
        raise UserError(f"--input {src!r} is not -, sim, a serial port or a file")
    return read_samples(bounded_lines(path.open("rb")), columns)


def columns(st: Stream, value: list, forecast: object, n: int) -> list[tuple]:
    """The line's cells per sensor: value, prediction, residual, score, anomaly, out of range,
    forecast (output.FIELDS)."""

    def per_sensor(x: object, empty: object = None) -> list:
        return [empty] * n if x is None else np.atleast_1d(x).tolist()

    anomaly = per_sensor(st.anomaly) if st.residual is not None else [False] * n
    if st.model.horizon > 1:  # each sensor's H forecasts as one cell
        forecast = None if forecast is None else np.reshape(forecast, (n, -1)).tolist()
        per_forecast = [None] * n if forecast is None else forecast
    else:
        per_forecast = per_sensor(forecast)
    cells = (st.prediction, st.residual, st.score)
    return list(
        zip(
            value,
            *(per_sensor(c) for c in cells),
            anomaly,
            per_sensor(st.out_of_range),
            per_forecast,
            strict=True,
        )
    )


def run(args: argparse.Namespace) -> int:
    """Forecast every valid sample of --input; report bad ones on stderr; summary at the end."""
    model = open_model(args.model, args.variant, args.mode, args.backend)
    if not model.entry.info.get("parity", {}).get("passed", True):
        print(
            f"warning: {model.entry.path.name} failed its parity check at export", file=sys.stderr
        )
    names = args.column or ["value"]
    st = Stream(model, sensors=len(names), threshold=args.threshold)
    counts = dict.fromkeys(("read", "predicted", "skipped", "anomalies", "out_of_range"), 0)
    first_bad: list[Sample] = []
    ctrl_c = CtrlC()
    try:
        samples = ctrl_c.samples(open_source(args, model.norm))
        exit_code = forecast_each(
            samples, st, Output(args.format, names, model.horizon), counts, first_bad, args
        )
    except KeyboardInterrupt:
        exit_code = 130
    except OSError as e:  # includes serial.SerialException: the port went away mid-stream
        if isinstance(e, BrokenPipeError):  # stdout closed (`| head`): run_cli ends quietly
            raise
        print(f"error: input ended unexpectedly: {e}", file=sys.stderr)
        exit_code = 1
    if ctrl_c.requested:
        exit_code = 130
    print(
        f"summary: {counts['read']} samples read, {counts['predicted']} predicted, "
        f"{counts['skipped']} skipped, {counts['anomalies']} anomalies, "
        f"{counts['out_of_range']} out of range ({model.variant} {model.mode} file on "
        f"{model.backend.name})",
        file=sys.stderr,
    )
    if first_bad and not counts["read"] and not exit_code:
        print(
            "error: no line of the input held a reading (expected numbers, one per line, or a "
            "CSV with a header row and --column NAME); first bad line "
            f"{first_bad[0].line}: {first_bad[0].error}",
            file=sys.stderr,
        )
        return 2
    return exit_code


def forecast_each(samples, st: Stream, out: Output, counts: dict, first_bad: list, args) -> int:
    """Push each sample, write its line, count it; a bad one is said and skipped. Exit code 0."""
    n = st.sensors
    for sample in samples:
        try:
            if sample.values is None:
                raise ValueError(sample.error)
            forecast = st.push(sample.values[0] if n == 1 else np.array(sample.values))
        except ValueError as e:  # unreadable, or absurdly far from the range: the stream is
            counts["skipped"] += 1  # as it was
            first_bad[:] = first_bad or [Sample(sample.line, None, str(e))]
            print(f"warning: line {sample.line}: {e}; skipped", file=sys.stderr)
            continue
        cells = columns(st, sample.values, forecast, n)
        out.row(counts["read"], cells)
        counts["read"] += 1
        counts["predicted"] += forecast is not None
        counts["anomalies"] += sum(c[4] for c in cells)
        counts["out_of_range"] += sum(c[5] for c in cells)
        if args.count is not None and counts["read"] >= args.count:
            break
    return 0
