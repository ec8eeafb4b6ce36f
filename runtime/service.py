"""The device service's core: a Stream per sensor, created on its first sample, the records they
give, what the live page has seen, and the state file that carries them across a restart.

Neither MQTT nor HTTP lives here (runtime/mqtt.py, runtime/page.py); every method is safe to
call from their threads."""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import queue
import threading
from pathlib import Path

from .errors import UserError
from .forecaster import Forecaster, StepForecaster
from .stream import Stream

STATE_FORMAT = 1  # the state file's layout; another is refused, not guessed at
BAND_MEMORY = 200.0  # samples over which the page's residual band forgets (1/e)
BAND_SIGMAS = 3.0  # the band: prediction +- this many running standard deviations of residuals


class Service:
    """Samples of named sensors in, one record per sample out (see `handle`)."""

    def __init__(
        self,
        model: Forecaster | StepForecaster,
        threshold: float | None = None,
        history: int = 500,
    ) -> None:
        self.model, self.threshold = model, threshold
        self.streams: dict[str, Stream] = {}
        self.spread: dict[str, float] = {}  # running mean of residual**2, for the page's band
        self.history: dict[str, collections.deque] = {}
        self.history_size = history
        self.listeners: list[queue.Queue] = []  # one per open live page
        self.samples = 0
        self.lock = threading.Lock()

    def handle(self, sensor: str, value: float, time: object) -> dict:
        """Push one sample of `sensor`; the record to publish and show.

        n: the sensor's sample number (1: its first); prediction: the forecast made for this
        sample (None until a window is in); residual: value - prediction; score and anomaly:
        runtime/anomaly.py's; forecast: the next sample's; band: the page's half-width around
        the prediction (BAND_SIGMAS running deviations of the residuals)."""
        with self.lock:
            st = self.streams.get(sensor)
            if st is None:
                st = self.streams[sensor] = Stream(self.model, threshold=self.threshold)
            prediction = st.forecast
            forecast = st.push(value)
            spread = self.spread.get(sensor, math.nan)
            if st.residual is not None:
                r2 = st.residual * st.residual
                spread = r2 if math.isnan(spread) else spread + (r2 - spread) / BAND_MEMORY
                self.spread[sensor] = spread
            record = {
                "sensor": sensor,
                "n": st.count,
                "time": time,
                "value": value,
                "prediction": prediction,
                "residual": st.residual,
                "score": st.score,
                "anomaly": bool(st.anomaly),
                "out_of_range": bool(st.out_of_range),
                "forecast": forecast,
                "band": None if math.isnan(spread) else BAND_SIGMAS * math.sqrt(spread),
            }
            self.samples += 1
            seen = self.history.get(sensor)
            if seen is None:
                seen = self.history[sensor] = collections.deque(maxlen=self.history_size)
            seen.append(record)
            for listener in self.listeners:
                # a page that stopped reading misses samples; nothing waits for it
                with contextlib.suppress(queue.Full):
                    listener.put_nowait(record)
            return record

    def recent(self) -> dict[str, list[dict]]:
        """Per sensor, its last `history` records, oldest first."""
        with self.lock:
            return {name: list(records) for name, records in sorted(self.history.items())}

    def listen(self) -> queue.Queue:
        """A queue that receives every record from now on (close it with `unlisten`)."""
        q: queue.Queue = queue.Queue(maxsize=10_000)
        with self.lock:
            self.listeners.append(q)
        return q

    def unlisten(self, q: queue.Queue) -> None:
        with self.lock:
            self.listeners.remove(q)

    def save(self, path: Path) -> None:
        """Write every stream's state to `path` atomically: a crash leaves the old file or the
        new one, never half of one."""
        with self.lock:
            state = {
                "format": STATE_FORMAT,
                "file": self.model.entry.path.name,
                "file_sha256": self.model.entry.info["sha256"],
                "samples": self.samples,
                "sensors": {
                    name: {"stream": st.get_state(), "spread": self.spread.get(name)}
                    for name, st in self.streams.items()
                },
            }
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def restore(self, path: Path) -> int:
        """Resume every stream saved in `path` (a missing file: nothing to resume); the number
        of sensors resumed. A file of another model or format is refused, not half-used."""
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(
                f"{path} is not a state file ({e}): move it away, or give --state another path"
            ) from None
        sha = self.model.entry.info["sha256"]
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise UserError(
                f"{path} is not a state file of this runtime (format {STATE_FORMAT}): move it "
                "away, or give --state another path"
            )
        if state.get("file_sha256") != sha:
            raise UserError(
                f"{path} holds the state of another model ({state.get('file')}, sha256 "
                f"{str(state.get('file_sha256'))[:12]}...), not of {self.model.entry.path.name} "
                f"(sha256 {sha[:12]}...): move it away to start afresh, or serve that model"
            )
        streams, spread = {}, {}
        try:  # every stream first: a file broken half way resumes nothing
            for name, saved in state["sensors"].items():
                streams[name] = Stream(self.model, threshold=self.threshold)
                streams[name].set_state(saved["stream"])
                if saved.get("spread") is not None:
                    spread[name] = float(saved["spread"])
            samples = int(state.get("samples", 0))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise UserError(
                f"{path} is damaged ({type(e).__name__}: {e}): move it away to start afresh"
            ) from None
        with self.lock:
            self.streams |= streams
            self.spread |= spread
            self.samples = samples
        return len(streams)
