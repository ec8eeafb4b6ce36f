"""CLI: `python -m runtime stream ...` forecasts a live sample stream; `info` describes a model;
`verify` holds every file to its bounds on this machine's interpreters."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .anomaly import THRESHOLD
from .backends import BACKENDS, available, backends_for, default_backend, version_of
from .errors import ArgumentParser, UserError, positive, run_cli
from .forecaster import open_model
from .manifest import Entry, find_entry, read_manifest
from .manifest import verify as check_file
from .mqtt import MAX_PAYLOAD
from .output import CtrlC, Output
from .parity import Reference, check, parity_line, parse_tolerance
from .service import MAX_SENSORS
from .sources import EXPECTED, Sample, open_source
from .stream import Stream

TICK = 1.0  # seconds between serve's housekeeping: rate-limited log lines, history, state


def stream(args: argparse.Namespace) -> int:
    """Forecast every valid sample of --input; report bad ones on stderr; summary at the end."""
    model = open_model(args.model, args.variant, args.mode, args.backend)
    if not model.entry.info.get("parity", {}).get("passed", True):
        print(
            f"warning: {model.entry.path.name} failed its parity check at export", file=sys.stderr
        )
    names = args.column or ["value"]
    n = len(names)
    st = Stream(model, sensors=n, threshold=args.threshold)
    out = Output(args.format, names)
    counts = dict.fromkeys(("read", "predicted", "skipped", "anomalies", "out_of_range"), 0)
    exit_code = 0
    first_bad: Sample | None = None
    ctrl_c = CtrlC()
    try:
        for sample in ctrl_c.samples(open_source(args, model.norm)):
            try:
                if sample.values is None:
                    raise ValueError(sample.error)
                pred = st.push(sample.values[0] if n == 1 else np.array(sample.values))
            except ValueError as e:  # unreadable, or absurdly far from the range: the stream
                counts["skipped"] += 1  # is as it was
                first_bad = first_bad or Sample(sample.line, None, str(e))
                print(f"warning: line {sample.line}: {e}; skipped", file=sys.stderr)
                continue
            forecasts = [None] * n if pred is None else np.atleast_1d(pred).tolist()
            made = st.prediction
            preds = [None] * n if made is None else np.atleast_1d(made).tolist()
            residuals = [None] * n if st.residual is None else np.atleast_1d(st.residual).tolist()
            scores = [None] * n if st.score is None else np.atleast_1d(st.score).tolist()
            anomalies = (
                np.atleast_1d(st.anomaly).tolist() if st.residual is not None else [False] * n
            )
            outside = np.atleast_1d(st.out_of_range).tolist()
            out.row(
                counts["read"],
                list(
                    zip(
                        sample.values,
                        *(preds, residuals, scores, anomalies, outside, forecasts),
                        strict=True,
                    )
                ),
            )
            counts["read"] += 1
            counts["predicted"] += pred is not None
            counts["anomalies"] += sum(anomalies)
            counts["out_of_range"] += sum(outside)
            if args.count is not None and counts["read"] >= args.count:
                break
    except BrokenPipeError:  # stdout closed (`| head`): run_cli ends quietly
        raise
    except KeyboardInterrupt:
        exit_code = 130
    except OSError as e:  # includes serial.SerialException: the port went away mid-stream
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
            f"error: no line of the input held a reading ({EXPECTED}); first bad line "
            f"{first_bad.line}: {first_bad.error}",
            file=sys.stderr,
        )
        return 2
    return exit_code


def serve(args: argparse.Namespace) -> int:
    """Forecast each sensor's samples from MQTT, publish a record per sample, keep the state,
    serve the live page; until SIGTERM (exit 0) or Ctrl-C (130), saving the state on the way.
    Exit 1 if the state could not be kept, or the MQTT side ended by itself."""
    from . import statefile
    from .mqtt import Broker, Link, check_filter, log
    from .page import Page, address
    from .service import Service

    broker = Broker.parse(args.mqtt)
    if args.username is not None or args.password is not None:
        broker = dataclasses.replace(
            broker,
            username=args.username if args.username is not None else broker.username,
            password=args.password if args.password is not None else broker.password,
        )
    check_filter(args.subscribe)
    try:
        args.publish.format(sensor="s")
    except (KeyError, IndexError, ValueError):
        raise UserError(
            f"--publish {args.publish!r}: the only placeholder it may hold is {{sensor}}"
        ) from None
    where = address(args.http) if args.http else None
    model = open_model(args.model, args.variant, args.mode, args.backend)
    service = Service(model, args.threshold, args.history, args.max_sensors)
    state = Path(args.state) if args.state else None
    if state:
        resumed = statefile.restore(service, state)
        try:  # a state that cannot be written is said now, not at the first save
            size = statefile.save(service, state)
        except OSError as e:
            raise UserError(f"--state {state}: cannot write it ({e.strerror})") from None
        said = f"resumed {resumed} sensors ({service.samples} samples)" if resumed else "state"
        log(f"{said} from {state} ({size / 1e6:.1f} MB)" if resumed else f"{said}: {state}")
    link = Link(
        broker,
        args.subscribe,
        args.publish,
        service.handle,
        args.client_id or f"edge-forecast-{socket.gethostname()}",
        args.field,
        args.time_field,
        (args.ca_certs, args.certfile, args.keyfile),
        args.max_payload,
    )
    about = {
        "file": model.entry.path.name,
        "variant": model.variant,
        "mode": model.mode,
        "window": model.window,
        "backend": model.backend.name,
        "history": args.history,
    }
    page = Page(service, where, about, args.http_token or None) if where else None
    if page:
        token = " (with the token: open it once as ...?token=TOKEN)" if args.http_token else ""
        log(f"live page at {page.url}{token}")
    log(
        f"serving {about['file']} ({model.variant} {model.mode} file on {model.backend.name}) "
        f"for {args.subscribe} on {broker}"
    )
    return _serve_until_stopped(service, link, page, state, args.state_every)


def _serve_until_stopped(service, link, page, state: Path | None, every: float) -> int:
    """Run until a signal or the MQTT side's end; the state written when it changed (at most
    every `every` s) and at the end; the exit code."""
    from . import statefile
    from .mqtt import log

    stop, got = threading.Event(), []

    def on_signal(signum: int, frame: object) -> None:
        got.append(signum)
        stop.set()

    def save() -> bool:
        try:
            statefile.save(service, state)
            return True
        except OSError as e:  # a full or read-only disk: the streams go on, in memory
            log(f"warning: cannot write {state} ({e.strerror}); the state is kept in memory")
            return False

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    link.start()
    saved, last = service.samples, time.monotonic()
    try:
        while not stop.wait(TICK) and not link.ended.is_set():
            link.warnings.tick()
            service.trim()
            due = time.monotonic() - last >= every
            if state and due and service.samples != saved and save():  # nothing new: no write
                saved, last = service.samples, time.monotonic()
    finally:
        if not link.ended.is_set():
            link.stop()
        kept = save() if state else False
        if page:
            page.stop()
        link.warnings.close()
    log(
        f"stopped: {service.samples} samples from {len(service.streams)} sensors, "
        f"{link.skipped} messages skipped" + (f"; state saved to {state}" if kept else "")
    )
    if link.error is not None or (link.ended.is_set() and not got):
        why = f"{type(link.error).__name__}: {link.error}" if link.error else "it ended"
        log(f"error: the MQTT connection's thread stopped ({str(why)[:200]}); exit 1")
        return 1
    if state and not kept:
        return 1
    return 130 if signal.SIGINT in got else 0


def info(args: argparse.Namespace) -> int:
    """Print what a model file (or every file in a folder) is."""
    target = Path(args.target)
    folder = target if target.is_dir() else target.parent
    manifest = read_manifest(folder)
    names = [f["file"] for f in manifest["files"]] if target.is_dir() else [target.name]
    model = manifest["model"]
    norm = model["normalization"]
    print(
        f"{folder}/: {model['cell'].upper()} x{model['layers']} ({model['units']} units), "
        f"window {model['window']}, "
        + (
            "forecasts the step to the next sample: step"
            if norm.get("target") == "change"
            else "data"
        )
        + f" = model * {norm['scale']:.6g} + {norm['center']:.6g}, anomaly from score "
        + f"{model.get('anomaly', {}).get('threshold', THRESHOLD):.3g}"
    )
    if "test_mse" in model:
        mse = model["test_mse"]
        print(
            f"  test MSE: window mode {mse['window']:.3g}, step mode {mse['step']:.3g} "
            f"(step files from {model.get('step_weights', 'model.keras')}); "
            f"stream runs {model['best_mode']} mode unless --mode says otherwise"
        )
    for name in names:
        e = find_entry(folder / name)
        p = e.info.get("parity", {})
        try:
            runner = default_backend(e.format)
            runner = f"{runner} {version_of(runner)}"
        except UserError:
            runner = "no interpreter installed"
        verdict = "pass" if p.get("passed") else "FAILED"
        need = e.info.get("min_runtime_version")
        print(
            f"  {name:<26} {e.info.get('mode', 'window'):<6} {e.variant:<17} "
            f"{e.info['bytes']:>8,} B  max dev {p.get('max_abs', math.nan):.1e} <= "
            f"{p.get('tolerance', math.nan):.0e} {verdict:<6}  runs on {runner}"
            + (f" (needs TFLite >= {need})" if need else "")
        )
    return 0


def verify_files(args: argparse.Namespace) -> int:
    """Hold every file this device can run to its export-time bound against the reference."""
    folder = Path(args.target)
    manifest = read_manifest(folder)
    ref_info = manifest.get("reference")
    if ref_info is None:
        raise UserError(f"{folder}/manifest.json lists no reference: re-export the model")
    entry = Entry(folder / ref_info["file"], ref_info, manifest["model"])
    check_file(entry)  # present, complete, the one this export wrote
    ref = Reference.load(entry.path)
    bounds = dict(args.tolerance)
    failed, ran = [], 0
    if not args.json:
        print(f"verifying {folder}/ against {ref_info['file']} (Keras's forecasts at export)")
    for f in manifest["files"]:
        key = f["variant"] if f["mode"] == "window" else f"step:{f['variant']}"
        names = [args.backend] if args.backend else list(backends_for(f["format"]))
        names = [b for b in names if b in backends_for(f["format"]) and available(b)]
        if not names:
            if not args.json:
                print(f"{f['file']:<30} skipped: no interpreter for {f['format']} files here")
            continue
        check_file(find_entry(folder / f["file"]))  # a damaged file is an error, not a skip
        for name in names:
            try:
                model = open_model(folder / f["file"], backend=name)
            except UserError as e:  # e.g. a file that needs a newer tflite-runtime
                if not args.json:
                    print(f"{f['file']:<30} skipped on {name}: {e}")
                continue
            tolerance = bounds.get(key, f["parity"]["tolerance"])
            parity, _, _ = check(model, ref, tolerance, f.get("fixed_range", False))
            if args.json:
                print(json.dumps({"file": f["file"], "backend": name} | parity.to_dict()))
            else:
                line = parity_line(f["file"], f["bytes"], parity)
                print(f"{line}  on {name} {version_of(name)}")
            ran += 1
            if not parity.passed:
                failed.append(f"{f['file']} on {name}")
    if failed:
        print(f"error: over its bound on this machine: {', '.join(failed)}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"{ran} file/interpreter pair(s) within their bounds")
    return 0


def score_threshold(text: str) -> float:
    """An argparse type: an anomaly score in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected an anomaly score in (0, 1], got {text!r}")
    return value


def main() -> int:
    """Parse the command line and run a subcommand."""
    parser = ArgumentParser(
        # `python -m runtime` from the source tree, `edge-forecast` from the installed wheel
        # the console script's name when installed, what was typed when run from the sources
        prog="edge-forecast" if Path(sys.argv[0]).name == "edge-forecast" else "python -m runtime",
        description="Run exported forecasters on a device: numpy and one interpreter "
        "(ai-edge-litert, tflite-runtime or onnxruntime) or none, no TensorFlow.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "stream",
        help="forecast a stream of samples, one line out per sample",
        description="Read samples one at a time and print, per valid sample: index, value, "
        "prediction (the forecast made for this sample; empty until a window of samples is "
        "in), residual (value minus prediction), score (0 to 1: how unlikely the recent "
        "residuals are under those seen before), anomaly (1 if the score reaches the "
        "threshold), out_of_range (1 if the value is more than 10% beyond the training "
        "range) and forecast (of the next sample). Bad lines are reported on stderr and "
        "skipped; a summary ends the run.",
    )
    s.add_argument(
        "--model",
        default="artifacts",
        help="a model file, or an artifacts folder with --variant (default: artifacts)",
    )
    s.add_argument(
        "--variant",
        help="with a folder: float32 (default), float16, dynamic_int8, "
        "int8, onnx, onnx_dynamic_int8",
    )
    s.add_argument(
        "--mode",
        choices=("window", "step"),
        help="with a folder: window (a window per sample) or step (one cell update per "
        "sample, the state carries the history); default: the more accurate of the two for "
        "this model, measured at export (`info` shows both)",
    )
    s.add_argument("--backend", choices=BACKENDS, help="force an interpreter")
    s.add_argument(
        "--threshold",
        type=score_threshold,
        help="anomaly score (0 to 1] from which a sample is an anomaly (default: the "
        "manifest's, tuned on NAB)",
    )
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
    s.set_defaults(run=stream)
    v = sub.add_parser(
        "verify",
        help="check every file on this machine's interpreters against the export's reference",
        description="Run every exported file this machine can run (each installed interpreter) "
        "on the test windows, the stream and the stress windows the export checked, against "
        "Keras's forecasts saved with the export (reference.npz), with the same bounds and "
        "range rules as the export's gate. Exits 1 naming any file over its bound here.",
    )
    v.add_argument("target", nargs="?", default="artifacts", help="artifacts folder")
    v.add_argument("--backend", choices=BACKENDS, help="only this interpreter")
    v.add_argument(
        "--tolerance",
        type=parse_tolerance,
        action="append",
        default=[],
        metavar="KEY=BOUND",
        help="override one bound, e.g. int8=0.01 or step:int8=0.01",
    )
    v.add_argument("--json", action="store_true", help="one JSON object per file and interpreter")
    v.set_defaults(run=verify_files)
    m = sub.add_parser(
        "serve",
        help="a device service: samples from MQTT in, forecasts and alarms out, a live page",
        description="Subscribe to the sensors' MQTT topics (one stream per matching topic, "
        "created on its first sample; the topic's + part is the sensor's name), forecast "
        "every sample and publish a JSON record per sample: time, value, prediction (the "
        "forecast made for this sample), residual, score, anomaly, out_of_range, forecast (the "
        "next sample's). QoS 1 in and out; it reconnects by itself. Ends on SIGTERM or Ctrl-C, "
        "saving --state.",
    )
    m.add_argument(
        "--model", default="artifacts", help="a model file, or an artifacts folder (default)"
    )
    m.add_argument("--variant", help="with a folder: as for stream (default: float32)")
    m.add_argument("--mode", choices=("window", "step"), help="as for stream")
    m.add_argument("--backend", choices=BACKENDS, help="force an interpreter")
    m.add_argument("--threshold", type=score_threshold, help="as for stream")
    m.add_argument(
        "--mqtt",
        default="mqtt://localhost:1883",
        metavar="URL",
        help="the broker: mqtt://[USER[:PASSWORD]@]HOST[:PORT], or mqtts:// for TLS "
        "(default: mqtt://localhost:1883)",
    )
    m.add_argument(
        "--subscribe",
        default="sensors/+/value",
        metavar="FILTER",
        help="topics to read samples from; + stands for the sensor's name (default: "
        "sensors/+/value)",
    )
    m.add_argument(
        "--publish",
        default="forecasts/{sensor}",
        metavar="TOPIC",
        help="where each sample's record goes (default: forecasts/{sensor})",
    )
    m.add_argument(
        "--field",
        default="value",
        help="for JSON payloads, the field that holds the sample (default: value); a bare "
        "number is taken as it is",
    )
    m.add_argument(
        "--time-field",
        default="time",
        help="for JSON payloads, the field passed on as the record's time (default: time; "
        "without it, the time of arrival in Unix seconds)",
    )
    m.add_argument(
        "--state",
        metavar="FILE",
        help="keep every stream's state in FILE: resumed on start, written atomically every "
        "--state-every seconds and on exit",
    )
    m.add_argument(
        "--state-every",
        type=positive(float),
        default=10.0,
        metavar="SECONDS",
        help="how often to write --state when samples came (default: 10)",
    )
    m.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        help="serve the live page: 8080 or :8080 on this machine only (loopback), "
        "0.0.0.0:8080 on every IPv4 interface, [::]:8080 on every interface",
    )
    m.add_argument(
        "--http-token",
        default=os.environ.get("EDGE_FORECAST_HTTP_TOKEN"),
        metavar="TOKEN",
        help="the page and its API answer only requests that carry TOKEN (open the page "
        "once as /?token=TOKEN; API clients send 'Authorization: Bearer TOKEN') "
        "(default: $EDGE_FORECAST_HTTP_TOKEN)",
    )
    m.add_argument(
        "--history",
        type=positive(int),
        default=500,
        help="samples per sensor the live page shows (default: 500)",
    )
    m.add_argument(
        "--max-sensors",
        type=positive(int),
        default=MAX_SENSORS,
        help=f"streams kept at most; a new sensor past them is refused (default: {MAX_SENSORS:,})",
    )
    m.add_argument(
        "--max-payload",
        type=positive(int),
        default=MAX_PAYLOAD,
        metavar="BYTES",
        help=f"a longer payload is refused unread (default: {MAX_PAYLOAD:,})",
    )
    m.add_argument(
        "--client-id", help="the MQTT client id, one per service (default: edge-forecast-HOSTNAME)"
    )
    m.add_argument("--username", help="the broker's user (or in --mqtt)")
    m.add_argument(
        "--password",
        default=os.environ.get("MQTT_PASSWORD"),
        help="the broker's password (default: $MQTT_PASSWORD; or in --mqtt)",
    )
    m.add_argument("--ca-certs", metavar="FILE", help="TLS: the CA certificates to trust")
    m.add_argument("--certfile", metavar="FILE", help="TLS: this client's certificate")
    m.add_argument("--keyfile", metavar="FILE", help="TLS: this client's private key")
    m.set_defaults(run=serve)
    i = sub.add_parser("info", help="describe a model file or an artifacts folder")
    i.add_argument("target", nargs="?", default="artifacts", help="file or folder")
    i.set_defaults(run=info)
    args = parser.parse_args()
    return args.run(args)


def cli() -> None:
    """The console script `edge-forecast` (pyproject.toml)."""
    run_cli(main)


if __name__ == "__main__":
    cli()
