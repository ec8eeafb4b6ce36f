"""The service's MQTT side, with paho-mqtt (the wheel's `mqtt` extra): samples in from the
subscribed topics, one JSON record out per sample, QoS 1 both ways.

Nothing the broker delivers is lost: the client keeps one session under a fixed client id
(clean_session off), so the broker holds the samples published while the service is down or
reconnecting; a sample is acknowledged only once it is forecast and its record queued (or
refused and logged: see Link), and paho keeps queued records until they reach the broker."""

from __future__ import annotations

import contextlib
import json
import math
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import UserError
from .ratelimit import RateLimitedLog, shown

PORTS = {"mqtt": 1883, "mqtts": 8883}
MAX_PAYLOAD = 65536  # default: bytes of a message's payload (a sample is tens)
MAX_TOPIC_BYTES = 65535  # MQTT's own limit on a topic
RECONNECT = (1, 5)  # seconds between reconnection attempts: first, most (paho doubles in between)


def log(message: str) -> None:
    """One line on stderr (the journal's, under systemd)."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Broker:
    """Where the broker is and how to log in: from `mqtt://[user[:password]@]host[:port]`."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in PORTS or not parts.hostname or parts.path not in ("", "/"):
            raise UserError(
                f"--mqtt {url!r} is not a broker address: give mqtt://HOST[:PORT] (1883), or "
                "mqtts://HOST[:PORT] (TLS, 8883)"
            )
        try:
            port = parts.port or PORTS[parts.scheme]
        except ValueError:
            raise UserError(f"--mqtt {url!r}: the port is not a number from 1 to 65535") from None
        return cls(parts.hostname, port, parts.scheme == "mqtts", parts.username, parts.password)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def check_filter(pattern: str) -> None:
    """A topic filter as MQTT allows it: `+` a whole level, `#` the whole last one."""
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if ("+" in level and level != "+") or (
            "#" in level and (level != "#" or i < len(levels) - 1)
        ):
            raise UserError(
                f"--subscribe {pattern!r} is not a topic filter: + stands for one whole level, "
                "# for the rest (e.g. sensors/+/value, home/#)"
            )


def sensor_of(pattern: str, topic: str) -> str:
    """The sensor's name in a topic: the levels that the pattern's `+` (and `#`) stand for,
    joined by '/'; the whole topic when the pattern has no wildcard."""
    names, levels = [], topic.split("/")
    for i, level in enumerate(pattern.split("/")):
        if level == "#":
            names += levels[i:]
            break
        if level == "+" and i < len(levels):
            names.append(levels[i])
    return "/".join(names) or topic


def parse_payload(payload: bytes, field: str, time_field: str) -> tuple[float, object | None]:
    """A payload -> (value, its time or None): a bare number, or a JSON object whose `field`
    holds the number (a number or numeric text) and `time_field`, if present, the time.
    ValueError saying what is wrong with it otherwise."""
    text = payload.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError:
        data = text
    stamp = None
    if isinstance(data, dict):
        if field not in data:
            raise ValueError(f"JSON without a {shown(field)!r} field (--field names it)")
        data, stamp = data[field], data.get(time_field)
    value = math.nan
    if isinstance(data, str | int | float) and not isinstance(data, bool):
        with contextlib.suppress(ValueError, OverflowError):
            value = float(data)
    if not math.isfinite(value):
        quoted = repr(text[:40]) + ("..." if len(text) > 40 else "")
        raise ValueError(f"payload {quoted} holds no finite number")
    return value, stamp


class Link:
    """One paho client: subscribes, hands each sample to `handle`, publishes what it returns.

    Every message is handled or refused, never fatal: whatever goes wrong with one (its size,
    its payload, its sensor's name, its value, its record) is a rate-limited log line, the
    message is counted as skipped and acknowledged (so a broker does not deliver it again), and
    the next one is taken. If the network thread ends anyway, `ended` is set and `error` says why.
    """

    def __init__(
        self,
        broker: Broker,
        subscribe: str,
        publish: str,
        handle: Callable[[str, float, object, float], bytes],
        client_id: str,
        field: str = "value",
        time_field: str = "time",
        tls_files: tuple[str | None, str | None, str | None] = (None, None, None),
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise UserError(
                "serve needs paho-mqtt: pip install paho-mqtt (the wheel's [mqtt] extra)"
            ) from None
        self.broker, self.subscribe, self.publish = broker, subscribe, publish
        self.handle, self.field, self.time_field = handle, field, time_field
        self.max_payload = max_payload
        self.skipped = 0
        self.warnings = RateLimitedLog(log)
        self.said: set[str] = set()  # the kinds of refusal said once, not again
        self.ended, self.error = threading.Event(), None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        ca, cert, key = tls_files
        if broker.tls or any(tls_files):
            self.client.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
        self.client.reconnect_delay_set(*RECONNECT)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._connected_once = self._failing = False

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start serving."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        # paho's own thread (loop_start): a loop of ours in another thread cost 60 us a sample
        # more (paho takes a thread it did not start for no thread); its end is seen through
        # threading's hook for exceptions that end a thread
        previous = threading.excepthook

        def seen(died: threading.ExceptHookArgs) -> None:
            if died.thread is not None and died.thread.name.startswith("paho-mqtt-client-"):
                self.error = died.exc_value
                self.ended.set()
            else:
                previous(died)

        threading.excepthook = seen
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect cleanly (the broker keeps the session and queues what comes meanwhile);
        returns once the sample in hand is published."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log(f"warning: {self.broker} refused the connection: {reason}; retrying")
            return
        self._failing = False
        # a record goes out at once, not after the broker's acknowledgement of the one before
        # (Nagle's algorithm against delayed ACKs: 40 ms a sample, measured by bench/serve.py)
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # subscribed again each time: a restarted broker may have lost the session
        client.subscribe(self.subscribe, qos=1)

    def _on_subscribe(self, client, userdata, mid, reasons, properties) -> None:
        if any(r.is_failure for r in reasons):
            log(f"error: {self.broker} refused the subscription to {self.subscribe}: {reasons[0]}")
            return
        again = "re" if self._connected_once else ""
        log(f"{again}connected to {self.broker}: {self.subscribe} -> {self.publish}")
        self._connected_once = True

    def _on_connect_fail(self, client, userdata) -> None:
        if not self._failing:  # once per outage, not once per attempt
            log(f"warning: cannot reach {self.broker}; retrying every {RECONNECT[1]} s at most")
        self._failing = True

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        if reason.value != 0:  # not our own disconnect()
            log(f"warning: lost {self.broker} ({reason}); reconnecting")
            self._failing = True

    def _on_message(self, client, userdata, message) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # a broker passes only UTF-8 topics; still, never fatal
            topic = "(a topic that is not UTF-8)"
        try:
            self._take(client, topic, message.payload)
        except Exception as e:  # one message's failure is that message's alone
            self.skipped += 1
            kind = getattr(e, "kind", "") or topic[:200]
            reason = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
            line = f"warning: {shown(topic)}: {shown(reason, 200)}; skipped"
            if not getattr(e, "once", False):
                self.warnings.warn(kind, line)
            elif kind not in self.said:
                self.said.add(kind)
                log(line)

    def _take(self, client, topic: str, payload: bytes) -> None:
        """Parse, forecast and publish one sample; ValueError (or anything) if it cannot be."""
        if len(payload) > self.max_payload:
            raise ValueError(
                f"a payload of {len(payload):,} bytes, over the {self.max_payload:,} allowed "
                "(--max-payload)"
            )
        sensor = sensor_of(self.subscribe, topic)
        out = self.publish.format(sensor=sensor)
        if len(out.encode()) > MAX_TOPIC_BYTES:
            raise ValueError(f"its topic to publish is over MQTT's {MAX_TOPIC_BYTES:,} bytes")
        value, stamp = parse_payload(payload, self.field, self.time_field)
        record = self.handle(sensor, value, stamp, time.time())
        client.publish(out, record, qos=1)
