"""Warnings about what peers send, rate-limited: a flood of bad messages cannot flood the log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PER_KEY = 3  # lines per key (a topic, a kind of refusal) per period
TOTAL = 30  # lines in all per period
PERIOD = 60.0  # seconds


def shown(text: str, limit: int = 80) -> str:
    """Untrusted text for a log line: as it is when short and printable, else quoted, escaped
    and cut to about `limit` characters."""
    if len(text) <= limit and text.isprintable():
        return text
    quoted = repr(text[:limit])
    return quoted + (f"... ({len(text):,} characters)" if len(text) > limit else "")


class RateLimitedLog:
    """At most PER_KEY lines per key and TOTAL lines in all per PERIOD; the lines held back are
    counted and said in one line when the period ends (at the next warning or tick())."""

    def __init__(
        self,
        write: Callable[[str], None],
        per_key: int = PER_KEY,
        total: int = TOTAL,
        period: float = PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write, self.per_key, self.total, self.period = write, per_key, total, period
        self.clock = clock
        self.lock = threading.Lock()
        self.start, self.lines, self.held = clock(), 0, 0
        self.counts: dict[str, int] = {}  # keys that got a line this period: at most `total`

    def warn(self, key: str, line: str) -> None:
        with self.lock:
            self._roll()
            n = self.counts.get(key, 0)
            if n >= self.per_key or self.lines >= self.total:
                self.held += 1
                return
            self.counts[key] = n + 1
            self.lines += 1
        self.write(line)

    def tick(self) -> None:
        """End the period if its time is up (say what was held back)."""
        with self.lock:
            self._roll()

    def close(self) -> None:
        """Say what was held back, the period ended or not."""
        with self.lock:
            self._roll(force=True)

    def _roll(self, force: bool = False) -> None:
        now = self.clock()
        if now - self.start < self.period and not force:
            return
        if self.held:
            self.write(
                f"warning: {self.held:,} more like these in the last {now - self.start:.0f} s, "
                "not shown"
            )
        self.start, self.lines, self.held = now, 0, 0
        self.counts.clear()
