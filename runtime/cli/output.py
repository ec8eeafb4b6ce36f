"""What `stream` writes: a line per valid sample (CSV or JSON lines), and Ctrl-C between lines."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterable, Iterator

from ..sources import Sample


class CtrlC:
    """Ctrl-C ends the stream between samples, never between writing a line and counting it.

    While waiting for input the interrupt is immediate; while a sample is being forecast it is
    only noted, and the stream stops once that sample's line is out. So the summary's count of
    samples read always equals the lines written.
    """

    def __init__(self) -> None:
        self.requested = False
        self.waiting = False

    def _on_sigint(self, signum: int, frame: object) -> None:
        again, self.requested = self.requested, True
        if self.waiting or again:  # a second Ctrl-C does not wait for the sample in hand
            raise KeyboardInterrupt

    def samples(self, source: Iterable[Sample]) -> Iterator[Sample]:
        """The samples of source until Ctrl-C; installs the handler while it runs."""
        # handlers can only be set from the main thread; an ignored SIGINT stays ignored
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        ):
            yield from source
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            it = iter(source)
            while not self.requested:
                self.waiting = True
                try:
                    sample = next(it)
                except StopIteration:
                    return
                finally:
                    self.waiting = False
                yield sample
        finally:
            signal.signal(signal.SIGINT, previous)


# prediction: the forecast made for this sample (value - prediction = residual); forecast: the
# forecast of the next one (of a model of H samples ahead: the next H, in CSV as columns forecast,
# forecast_2 .. forecast_H; in JSON as a list). Both refer to one sample, as serve's records do.
FIELDS = ("value", "prediction", "residual", "score", "anomaly", "out_of_range", "forecast")


def _numbers(forecast: float | list | None, horizon: int) -> list[str]:
    """The forecast cells of one sensor: one, or `horizon` (empty until a window is in)."""
    if forecast is None:
        return [""] * horizon
    return [f"{f:.6g}" for f in (forecast if isinstance(forecast, list) else [forecast])]


class Output:
    """Writes one line per valid sample as CSV or JSON lines, flushed so it can be piped."""

    def __init__(self, fmt: str, names: list[str], horizon: int = 1) -> None:
        self.fmt, self.names, self.horizon = fmt, names, horizon
        if fmt == "csv":
            cols = [*FIELDS, *(f"forecast_{k}" for k in range(2, horizon + 1))]
            if len(names) > 1:
                cols = [n if c == "value" else f"{n}_{c}" for n in names for c in cols]
            self._write("index," + ",".join(cols))

    def _write(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def row(self, index: int, cells: list[tuple]) -> None:
        """One output line: the index, then FIELDS for each column."""
        if self.fmt == "jsonl":
            dicts = [dict(zip(FIELDS, c, strict=True)) for c in cells]
            named = dicts[0] if len(dicts) == 1 else dict(zip(self.names, dicts, strict=True))
            self._write(json.dumps({"index": index, **named}))
            return
        parts = [str(index)]
        for value, pred, residual, score, anomaly, out_of_range, forecast in cells:
            parts += [
                repr(value),
                "" if pred is None else f"{pred:.6g}",
                "" if residual is None else f"{residual:.6g}",
                "" if score is None else f"{score:.6f}",
                str(int(anomaly)),
                str(int(out_of_range)),
                *_numbers(forecast, self.horizon),
            ]
        self._write(",".join(parts))
