"""The device service's core: a Stream per sensor, created on its first sample, the record each
sample gives (strict JSON, made once: the same bytes go to MQTT, the pages and the state file),
and what the live page keeps of them. Every method is safe to call from any thread.

Nothing a peer sends is trusted: a sensor's name, its time and its value are checked before any
stream is touched, and what fails a check is Refused (a ValueError) with the reason; the sensors,
the records kept and the record's size are bounded."""

from __future__ import annotations

import collections
import math
import threading

import numpy as np

from .. import StepModel, Stream, WindowModel, checks
from .feed import Feed

MAX_SENSORS = 10_000  # default: streams one service keeps (a sensor past them is refused)
MAX_NAME_BYTES = 256  # a sensor's name, UTF-8
MAX_TIME_CHARS = 64  # a time given as text (an ISO 8601 time with nanoseconds and zone: 35)
TIME_LIMIT = 10**20  # a time given as a number: nanoseconds since 1970 are 1.8e18
HISTORY_BUDGET = 100_000  # records the page keeps over all sensors (about 25 MB)
HISTORY_FLOOR = 10  # ... but at least this many per sensor
BAND_MEMORY = 200.0  # samples over which the page's residual band forgets (1/e)
BAND_SIGMAS = 3.0  # the band: prediction +- this many running standard deviations of residuals
RECORD = (  # a record's fields, in order
    "sensor",
    "n",
    "time",
    "received",
    "value",
    "prediction",
    "residual",
    "score",
    "anomaly",
    "out_of_range",
    "forecast",
    "band",
)


class Refused(ValueError):
    """A sample the service does not take. `kind` groups refusals whose log lines are rate-
    limited together (default: per topic); `once`: said the first time only."""

    def __init__(self, reason: str, kind: str = "", once: bool = False) -> None:
        super().__init__(reason)
        self.kind, self.once = kind, once


def check_name(name: str) -> None:
    """A sensor's name must make a valid MQTT topic level (or levels) of its own."""
    size = len(name.encode("utf-8", errors="replace"))
    if not name or "" in name.split("/"):
        raise Refused("a sensor's name cannot be empty or hold an empty level")
    if size > MAX_NAME_BYTES:
        raise Refused(f"a sensor's name of {size:,} bytes is over the {MAX_NAME_BYTES} allowed")
    if any(c in name for c in "+#\0"):
        raise Refused("a sensor's name cannot hold +, # or NUL (they cannot be in a topic)")


def check_time(value: object) -> None:
    """A sample's time: a finite number, text of at most MAX_TIME_CHARS, or None (none given)."""
    if value is None or (type(value) is str and len(value) <= MAX_TIME_CHARS):
        return
    if type(value) is float and math.isfinite(value) and abs(value) < TIME_LIMIT:
        return
    if type(value) is int and abs(value) < TIME_LIMIT:
        return
    raise Refused(
        f"its time is not a finite number or a text of at most {MAX_TIME_CHARS} characters"
    )


def check_record(record: object, sensor: str, horizon: int = 1) -> dict:
    """A record read back (from a state file): its fields, types and ranges, or ValueError."""
    r = checks.mapping(record, f"a record of {sensor!r}", RECORD)
    if r["sensor"] != sensor or len(r) != len(RECORD):
        raise ValueError(f"a record of {sensor!r} is another sensor's, or has other fields")
    checks.integer(r["n"], "a record's n", lo=1)
    check_time(r["time"])
    checks.number(r["received"], "a record's received")
    checks.number(r["value"], "a record's value")
    for key in ("prediction", "residual", "band", "score"):
        checks.optional_number(r[key], f"a record's {key}")
    if horizon > 1 and r["forecast"] is not None:  # a model of H samples ahead: H numbers
        checks.numbers(r["forecast"], "a record's forecast", horizon)
    else:
        checks.optional_number(r["forecast"], "a record's forecast")
    if type(r["anomaly"]) is not bool or type(r["out_of_range"]) is not bool:
        raise ValueError("a record's anomaly and out_of_range are not true or false")
    return r


class Service:
    """Samples of named sensors in, one record per sample out (see `handle`)."""

    def __init__(
        self,
        model: WindowModel | StepModel,
        threshold: float | None = None,
        history: int = 500,
        max_sensors: int = MAX_SENSORS,
    ) -> None:
        self.model, self.threshold = model, threshold
        self.history_size, self.max_sensors = history, max_sensors
        self.streams: dict[str, Stream] = {}
        self.spread: dict[str, float] = {}  # running mean of (residual / scale)**2: the band
        self.history: dict[str, collections.deque[bytes]] = {}
        self.feed = Feed()  # every record, for the open pages
        self.cap = history  # records kept per sensor (history_cap(), updated as sensors come)
        self.samples = 0
        self.lock = threading.Lock()

    def handle(self, sensor: str, value: float, time: object, received: float) -> bytes:
        """Push one sample of `sensor`; its record as JSON, or Refused (nothing changed).

        n: the sensor's sample number (1: its first); time: the sample's own (None if it came
        without); received: when the service got it (Unix seconds); prediction: the forecast
        made for this sample (None until a window is in); residual: value - prediction; score
        and anomaly: runtime/anomaly.py's; forecast: the next sample's (a model of H samples
        ahead: a list of the next H); band: the page's
        half-width around the prediction (BAND_SIGMAS running deviations of the residuals)."""
        check_time(time)
        with self.lock:
            st = self.streams.get(sensor)
            if st is None:
                check_name(sensor)  # a sensor with a stream had its name checked
                if len(self.streams) >= self.max_sensors:
                    raise Refused(
                        f"a new sensor past --max-sensors ({self.max_sensors:,}); refused, as "
                        "every new one will be (not said again)",
                        kind="max-sensors",
                        once=True,
                    )
                st = Stream(self.model, threshold=self.threshold)
            try:
                forecast = st.push(value)
            except ValueError as e:
                raise Refused(str(e)) from None
            self.streams.setdefault(sensor, st)
            record = {
                "sensor": sensor,
                "n": st.count,
                "time": time,
                "received": received,
                "value": value,
                "prediction": st.prediction,
                "residual": st.residual,
                "score": st.score,
                "anomaly": bool(st.anomaly),
                "out_of_range": bool(st.out_of_range),
                "forecast": forecast.tolist() if isinstance(forecast, np.ndarray) else forecast,
                "band": self._band(sensor, st.residual),
            }
            data = checks.to_json(record)
            self.samples += 1
            self._keep(sensor, data)
            self.feed.append(data)
            return data

    def _band(self, sensor: str, residual: float | None) -> float | None:
        """BAND_SIGMAS running deviations of the sensor's residuals (model units inside: the
        square of a residual in data units could overflow)."""
        spread = self.spread.get(sensor)
        r = None if residual is None else residual / self.model.norm.scale
        if r is not None and math.isfinite(r * r):  # not a residual past a float's square
            spread = r * r if spread is None else spread + (r * r - spread) / BAND_MEMORY
            self.spread[sensor] = spread
        return None if spread is None else BAND_SIGMAS * math.sqrt(spread) * self.model.norm.scale

    def _keep(self, sensor: str, record: bytes) -> None:
        kept = self.history.get(sensor)
        if kept is None:
            kept = self.history[sensor] = collections.deque(maxlen=self.history_size)
            self.cap = self.history_cap()
        kept.append(record)
        while len(kept) > self.cap:
            kept.popleft()

    def history_cap(self) -> int:
        """Records kept per sensor: --history, less when many sensors would pass the budget."""
        share = HISTORY_BUDGET // max(1, len(self.history))
        return min(self.history_size, max(HISTORY_FLOOR, share))

    def trim(self) -> None:
        """Hold every sensor's history to the cap (those that sent nothing since it fell)."""
        with self.lock:
            self.cap = self.history_cap()
            for kept in self.history.values():
                while len(kept) > self.cap:
                    kept.popleft()

    def recent(self) -> bytes:
        """Per sensor its kept records, oldest first: [{"name": ..., "records": [...]}, ...]."""
        with self.lock:
            held = [(name, list(kept)) for name, kept in sorted(self.history.items())]
        parts = [
            b'{"name":' + checks.to_json(name) + b',"records":[' + b",".join(kept) + b"]}"
            for name, kept in held
        ]
        return b"[" + b",".join(parts) + b"]"
