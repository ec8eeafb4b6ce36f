"""Real services for the serve tests: a Mosquitto broker on a free loopback port, headless
Chromium driven over its DevTools socket, and `serve` itself as a process whose log is read."""

from __future__ import annotations

import base64
import itertools
import json
import math
import queue
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.conftest import PYTHON, REPO

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def strict(text: bytes | str) -> object:
    """JSON as RFC 8259 has it: NaN, Infinity and numbers past a float's range are errors."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in JSON")

    def finite(token: str) -> float:
        assert math.isfinite(float(token)), f"{token} overflows"
        return float(token)

    return json.loads(text, parse_constant=refuse, parse_float=finite)


class Peer:
    """A paho client: publishes anything, and collects every record the service sends, each
    parsed strictly."""

    def __init__(self, url: str) -> None:
        import paho.mqtt.client as mqtt

        self.records: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        self.subscribed = False
        self.client.on_connect = lambda c, *_: c.subscribe("forecasts/#", qos=1)
        self.client.on_subscribe = lambda *_: setattr(self, "subscribed", True)
        self.client.on_message = lambda c, u, m: self.records.put((m.topic, strict(m.payload)))
        host, port = url.removeprefix("mqtt://").split(":")
        self.client.connect(host, int(port))
        self.client.loop_start()
        wait_until(lambda: self.subscribed, 10, "the test's subscription")

    def send(self, topic: str, payload: bytes | str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(30)

    def send_many(self, messages: list[tuple[str, bytes | str]]) -> None:
        sent = [self.client.publish(t, p, qos=1) for t, p in messages]
        for info in sent:
            info.wait_for_publish(60)

    def next_record(self, sensor: str, timeout: float = 30) -> dict:
        """The next record of `sensor` (others that come first are checked, then dropped)."""

        def found() -> dict | None:
            while True:
                try:
                    _, record = self.records.get(timeout=0.2)
                except queue.Empty:
                    return None
                if record["sensor"] == sensor:
                    return record

        return wait_until(found, timeout, f"a record of {sensor}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `ready()` until it returns something true; AssertionError naming `what` if not."""
    end = time.monotonic() + timeout
    while not (result := ready()):
        assert time.monotonic() < end, f"{what}: not within {timeout} s"
        time.sleep(0.05)
    return result


class Mosquitto:
    """Debian's broker on 127.0.0.1:port, in memory (a restart forgets sessions, as a broker
    without persistence does); kill() and start() again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\n"  # a stopped service's samples wait for it
        )
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=log, stdout=log)
        wait_until(self._listening, 10, "mosquitto listening")

    def _listening(self) -> bool:
        assert self.proc.poll() is None, f"mosquitto ended: {self.log.read_text()}"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


class Serve:
    """`python -m runtime serve ARGS` (the installed `edge-forecast` under test) in the
    background, its stderr collected line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*PYTHON, "-m", "runtime", "serve", *args],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60, count: int = 1) -> str:
        """The `count`-th log line holding `text`, once it is out."""

        def found() -> str | None:
            assert self.proc.poll() is None or count <= sum(text in x for x in self.lines), (
                f"serve ended ({self.proc.returncode}) before {text!r}: {self.log}"
            )
            hits = [x for x in self.lines if text in x]
            return hits[count - 1] if len(hits) >= count else None

        return wait_until(found, timeout, f"serve's {text!r} line; log so far: {self.log}")

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd stops it; its exit code."""
        self.proc.terminate()
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Chromium:
    """Headless Chromium showing `url`, driven over the DevTools protocol."""

    def __init__(self, url: str, folder: Path) -> None:
        import websocket  # the test tools' websocket-client

        profile = folder / "chromium"
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",  # as root, in a container
                "--disable-gpu",
                "--disable-dev-shm-usage",  # a container's /dev/shm is small
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1280,1000",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={profile}",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "chromium.log", "w"),  # noqa: SIM115 (closed with the process)
        )
        active = profile / "DevToolsActivePort"
        wait_until(lambda: active.exists() and active.read_text().count("\n"), 60, "Chromium")
        port = int(active.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.ids = itertools.count(1)

    def call(self, method: str, **params: object) -> dict:
        """One DevTools command; its result."""
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == n:
                assert "error" not in reply, reply["error"]
                return reply["result"]

    def evaluate(self, expression: str) -> object:
        """A JavaScript expression's value in the page (JSON-able)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot")["data"]))
        return path

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
