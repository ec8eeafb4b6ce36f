"""`serve`: the device service. Samples from MQTT in, a record per sample out, the state kept in
a file, the live page; until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import socket
import threading
import time
from pathlib import Path

from .. import open_model
from ..errors import UserError
from ..serve.mqtt import MAX_PAYLOAD
from ..serve.service import MAX_SENSORS
from .args import add_model_options, positive

TICK = 1.0  # seconds between housekeeping: rate-limited log lines, history, state


def add(sub: argparse._SubParsersAction) -> None:
    """The serve command's parser."""
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
    add_model_options(m)
    _mqtt_options(m.add_argument_group("the broker"))
    _state_options(m.add_argument_group("the streams"))
    _page_options(m.add_argument_group("the live page"))
    m.set_defaults(run=run)


def _mqtt_options(g: argparse._ArgumentGroup) -> None:
    """The options of the broker."""
    g.add_argument(
        "--mqtt",
        default="mqtt://localhost:1883",
        metavar="URL",
        help="the broker: mqtt://[USER[:PASSWORD]@]HOST[:PORT], or mqtts:// for TLS "
        "(default: mqtt://localhost:1883)",
    )
    g.add_argument(
        "--subscribe",
        default="sensors/+/value",
        metavar="FILTER",
        help="topics to read samples from; + stands for the sensor's name (default: "
        "sensors/+/value)",
    )
    g.add_argument(
        "--publish",
        default="forecasts/{sensor}",
        metavar="TOPIC",
        help="where each sample's record goes (default: forecasts/{sensor})",
    )
    g.add_argument(
        "--field",
        default="value",
        help="for JSON payloads, the field that holds the sample (default: value); a bare "
        "number is taken as it is",
    )
    g.add_argument(
        "--time-field",
        default="time",
        help="for JSON payloads, the field passed on as the record's time (default: time; "
        "without it, the time of arrival in Unix seconds)",
    )
    g.add_argument(
        "--max-payload",
        type=positive(int),
        default=MAX_PAYLOAD,
        metavar="BYTES",
        help=f"a longer payload is refused unread (default: {MAX_PAYLOAD:,})",
    )
    g.add_argument(
        "--client-id", help="the MQTT client id, one per service (default: edge-forecast-HOSTNAME)"
    )
    g.add_argument("--username", help="the broker's user (or in --mqtt)")
    g.add_argument(
        "--password",
        default=os.environ.get("MQTT_PASSWORD"),
        help="the broker's password (default: $MQTT_PASSWORD; or in --mqtt)",
    )
    g.add_argument("--ca-certs", metavar="FILE", help="TLS: the CA certificates to trust")
    g.add_argument("--certfile", metavar="FILE", help="TLS: this client's certificate")
    g.add_argument("--keyfile", metavar="FILE", help="TLS: this client's private key")


def _state_options(g: argparse._ArgumentGroup) -> None:
    """The options of the streams."""
    g.add_argument(
        "--max-sensors",
        type=positive(int),
        default=MAX_SENSORS,
        help=f"streams kept at most; a new sensor past them is refused (default: {MAX_SENSORS:,})",
    )
    g.add_argument(
        "--state",
        metavar="FILE",
        help="keep every stream's state in FILE: resumed on start, written atomically every "
        "--state-every seconds and on exit",
    )
    g.add_argument(
        "--state-every",
        type=positive(float),
        default=10.0,
        metavar="SECONDS",
        help="how often to write --state when samples came (default: 10)",
    )


def _page_options(g: argparse._ArgumentGroup) -> None:
    """The options of the live page."""
    g.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        help="serve the live page: 8080 or :8080 on this machine only (loopback), "
        "0.0.0.0:8080 on every IPv4 interface, [::]:8080 on every interface",
    )
    g.add_argument(
        "--http-token",
        default=os.environ.get("EDGE_FORECAST_HTTP_TOKEN"),
        metavar="TOKEN",
        help="the page and its API answer only requests that carry TOKEN (open the page "
        "once as /?token=TOKEN; API clients send 'Authorization: Bearer TOKEN') "
        "(default: $EDGE_FORECAST_HTTP_TOKEN)",
    )
    g.add_argument(
        "--history",
        type=positive(int),
        default=500,
        help="samples per sensor the live page shows (default: 500)",
    )


def run(args: argparse.Namespace) -> int:
    """Forecast each sensor's samples from MQTT, publish a record per sample, keep the state,
    serve the live page; until SIGTERM (exit 0) or Ctrl-C (130), saving the state on the way.
    Exit 1 if the state could not be kept, or the MQTT side ended by itself."""
    from ..serve.mqtt import Link
    from ..serve.page import Page, address
    from ..serve.service import Service

    broker = _broker(args)
    where = address(args.http) if args.http else None
    model = open_model(args.model, args.variant, args.mode, args.backend)
    service = Service(model, args.threshold, args.history, args.max_sensors)
    state = Path(args.state) if args.state else None
    if state:
        _resume(service, state)
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
    lines = []
    if page:
        token = " (with the token: open it once as ...?token=TOKEN)" if args.http_token else ""
        lines.append(f"live page at {page.url}{token}")
    lines.append(
        f"serving {about['file']} ({model.variant} {model.mode} file on {model.backend.name}) "
        f"for {args.subscribe} on {broker}"
    )
    return _serve_until_stopped(service, link, page, state, args.state_every, lines)


def _broker(args: argparse.Namespace):
    """The broker (--mqtt, with --username / --password over its own), once the topics are
    checked: --subscribe a valid filter, --publish no placeholder but {sensor}."""
    from ..serve.mqtt import Broker, check_filter

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
    return broker


def _resume(service, state: Path) -> None:
    """Resume the streams saved in --state, and write it once now: a state that cannot be
    written is said at the start, not at the first save."""
    from ..serve import statefile
    from ..serve.mqtt import log

    resumed = statefile.restore(service, state)
    try:
        size = statefile.save(service, state)
    except OSError as e:
        raise UserError(f"--state {state}: cannot write it ({e.strerror})") from None
    said = f"resumed {resumed} sensors ({service.samples} samples)" if resumed else "state"
    log(f"{said} from {state} ({size / 1e6:.1f} MB)" if resumed else f"{said}: {state}")


def _serve_until_stopped(
    service, link, page, state: Path | None, every: float, ready: list[str]
) -> int:
    """Say the `ready` lines, then run until a signal or the MQTT side's end; the state written
    when it changed (at most every `every` s) and at the end; the exit code. The signal handlers
    are in place before the lines are said: a supervisor that stops the service once it reads
    them gets a clean stop, the state saved, not the default death by SIGTERM."""
    from ..serve import statefile
    from ..serve.mqtt import log

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
    for line in ready:
        log(line)
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
