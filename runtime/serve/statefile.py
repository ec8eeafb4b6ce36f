"""serve's state file: every stream's state, the page's band and recent records, written
atomically (runtime/files.py) and, when read back, checked whole before any of it is used."""

from __future__ import annotations

import collections
from pathlib import Path

from .. import Stream, checks
from ..errors import UserError
from ..files import write_atomic
from .service import Service, check_name, check_record

FORMAT = 2  # the file's layout; another is refused, not guessed at


def save(service: Service, path: Path) -> int:
    """Write the service's state to `path` atomically; the bytes written (OSError: not
    written, the old file kept)."""
    with service.lock:
        head = {
            "format": FORMAT,
            "file": service.model.entry.path.name,
            "file_sha256": service.model.entry.info["sha256"],
            "samples": service.samples,
            "sensors": {
                name: {"stream": st.get_state(), "spread": service.spread.get(name)}
                for name, st in service.streams.items()
            },
        }
        history = [(name, list(kept)) for name, kept in service.history.items()]
    # the records are JSON already: spliced in as they are, not parsed and written again
    parts = [checks.to_json(head)[:-1], b',"history":{']
    for i, (name, kept) in enumerate(history):
        parts += [b"," if i else b"", checks.to_json(name), b":[", b",".join(kept), b"]"]
    parts.append(b"}}")
    return write_atomic(path, parts)


def restore(service: Service, path: Path) -> int:
    """Resume every stream saved in `path` (a missing file: nothing to resume); the number of
    sensors resumed. A file of another model or format, or with any value of the wrong type or
    range, is refused whole (UserError) and nothing of it is used."""
    try:
        state = checks.strict_json(path.read_bytes())
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise UserError(
            f"{path} is not a state file ({str(e)[:100]}): move it away, or give --state "
            "another path"
        ) from None
    sha = service.model.entry.info["sha256"]
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(
            f"{path} is not a state file of this runtime (format {FORMAT}): move it "
            "away, or give --state another path"
        )
    if state.get("file_sha256") != sha:
        raise UserError(
            f"{path} holds the state of another model ({str(state.get('file'))[:60]}, sha256 "
            f"{str(state.get('file_sha256'))[:12]}...), not of {service.model.entry.path.name} "
            f"(sha256 {sha[:12]}...): move it away to start afresh, or serve that model"
        )
    try:
        streams, spread, history, samples = _checked(service, state)
    except (ValueError, UserError) as e:
        raise UserError(f"{path} is damaged ({e}): move it away to start afresh") from None
    with service.lock:
        service.streams |= streams
        service.spread |= spread
        service.history |= history
        service.samples = samples
    service.trim()
    return len(streams)


def _checked(service: Service, state: dict) -> tuple[dict, dict, dict, int]:
    """Every stream, band and record of a state file, each checked (ValueError if not)."""
    checks.mapping(state, "the state", ("samples", "sensors", "history"))
    samples = checks.integer(state["samples"], "samples")
    sensors = checks.mapping(state["sensors"], "sensors", ())
    if len(sensors) > service.max_sensors:
        raise ValueError(f"it holds {len(sensors):,} sensors, over --max-sensors")
    streams, spread = {}, {}
    for name, saved in sensors.items():
        check_name(name)
        checks.mapping(saved, f"sensor {name!r}", ("stream", "spread"))
        streams[name] = Stream(service.model, threshold=service.threshold)
        streams[name].set_state(saved["stream"])
        if saved["spread"] is not None:
            spread[name] = checks.number(saved["spread"], f"{name!r} spread", lo=0.0)
    history = {}
    for name, records in checks.mapping(state["history"], "history", ()).items():
        if name not in streams or not isinstance(records, list):
            raise ValueError(f"history of {name[:40]!r}, which is no sensor of the state")
        kept = collections.deque(maxlen=service.history_size)
        horizon = service.model.horizon
        recent = records[-service.history_size :]
        kept.extend(checks.to_json(check_record(r, name, horizon)) for r in recent)
        history[name] = kept
    return streams, spread, history, samples
