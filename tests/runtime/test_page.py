"""serve's live page, as a browser and an attacker on the network meet it: where it listens, the
token, the Host header, the connections it holds; and in a real headless Chromium, charts from the
first load, sensors of any name, and the history across a restart."""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.runtime.services import (
    CHROMIUM,
    MOSQUITTO,
    Chromium,
    Mosquitto,
    Peer,
    Serve,
    free_port,
    strict,
    wait_until,
)

NOWHERE = "mqtt://127.0.0.1:9"  # no broker: serve retries, its page answers meanwhile
needs_broker = pytest.mark.skipif(not MOSQUITTO, reason="needs mosquitto (make serve-tools)")
needs_chromium = pytest.mark.skipif(not CHROMIUM, reason="needs chromium (make serve-tools)")


def outward_address(family: socket.AddressFamily) -> str | None:
    """An address of this machine that is not loopback (the one its route out would use)."""
    target = "192.0.2.1" if family == socket.AF_INET else "2001:db8::1"
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((target, 9))  # UDP: picks the route, sends nothing
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith(("127.", "::1")) else address


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def page_serve(model, *more: str) -> tuple[Serve, str]:
    serve = Serve("--model", str(model), "--mqtt", NOWHERE, *more)
    url = serve.wait_for("live page at").split("live page at ")[1].split()[0]
    return serve, url


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@pytest.mark.parametrize("given", ["PORT", ":PORT", "0.0.0.0:PORT", "[::]:PORT"])
def test_the_page_listens_on_loopback_unless_a_host_is_named(lstm_dir, given):
    outward = outward_address(socket.AF_INET)
    if outward is None:
        pytest.skip("this machine has no address but loopback")
    port = free_port()
    serve, _ = page_serve(lstm_dir, "--http", given.replace("PORT", str(port)))
    try:
        everywhere = given.startswith(("0.0.0.0", "[::]"))
        assert reachable("127.0.0.1", port)
        assert reachable(outward, port) == everywhere
        if given.startswith("[::]"):
            assert reachable("::1", port)
            outward6 = outward_address(socket.AF_INET6)
            assert outward6 is None or reachable(outward6, port)
    finally:
        assert serve.stop() == 0, serve.log


def test_the_token_guards_page_and_api_and_a_foreign_host_is_refused(lstm_dir):
    serve, url = page_serve(lstm_dir, "--http", "0", "--http-token", "s3cret")
    try:
        assert "with the token" in serve.log and "s3cret" not in serve.log
        for path in ("", "api/sensors", "events", "uPlot.iife.min.js"):
            assert get(url + path)[0] == 401
            assert get(url + path, {"Authorization": "Bearer wrong"})[0] == 401
        status, body, _ = get(url + "api/sensors", {"Authorization": "Bearer s3cret"})
        assert status == 200 and strict(body)["sensors"] == []
        assert get(url + "api/sensors?token=s3cret")[0] == 200
        host, port = url.removeprefix("http://").strip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/?token=s3cret")
        reply = conn.getresponse()
        assert reply.status == 303 and reply.getheader("Location") == "/"
        cookie = reply.getheader("Set-Cookie").split(";")[0]
        assert "HttpOnly" in reply.getheader("Set-Cookie")
        assert get(url + "api/sensors", {"Cookie": cookie})[0] == 200
        # DNS rebinding: a name that points at 127.0.0.1 is still not this page's name
        assert get(url + "api/sensors?token=s3cret", {"Host": f"evil.example:{port}"})[0] == 403
    finally:
        assert serve.stop() == 0, serve.log


def threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


def test_silent_connections_time_out_and_the_rest_are_served(lstm_dir):
    serve, url = page_serve(lstm_dir, "--http", "0")
    host, port = url.removeprefix("http://").strip("/").split(":")
    before = threads(serve.proc.pid)
    t0 = time.monotonic()
    idle = [socket.create_connection((host, int(port))) for _ in range(300)]
    try:
        assert time.monotonic() - t0 < 5  # the listen backlog takes them at once
        status, body, _ = get(url + "api/sensors")  # answered while 300 say nothing
        assert status == 200 and strict(body)["model"]["window"] > 0
        for s in idle:  # each closed by the server once silent for TIMEOUT (10 s)
            s.settimeout(30)
            assert s.recv(100) == b""
        assert time.monotonic() - t0 < 25
        wait_until(lambda: threads(serve.proc.pid) <= before + 2, 10, "the threads to end")
    finally:
        for s in idle:
            s.close()
        assert serve.stop() == 0, serve.log


@needs_broker
@needs_chromium
def test_the_page_draws_every_sensor_from_its_first_load_and_across_a_restart(lstm_dir, tmp_path):
    broker = Mosquitto(tmp_path)
    state = tmp_path / "state.json"
    args = ("--mqtt", broker.url, "--client-id", "page", "--state", str(state))
    names = ("__proto__", "constructor", "pump")
    peer = browser = None
    try:
        serve, url = page_serve(lstm_dir, *args, "--http", "0", "--http-token", "t0ken")
        serve.wait_for("connected to")
        peer = Peer(broker.url)
        for i in range(80):
            peer.send_many([(f"sensors/{n}/value", repr(0.3 * (i % 7) / 7)) for n in names])
        wait_until(lambda: peer.records.qsize() >= 3 * 80, 30, "every record")
        assert serve.stop() == 0, serve.log  # the history goes into the state file

        serve, url = page_serve(lstm_dir, *args, "--http", "0", "--http-token", "t0ken")
        browser = Chromium(url + "?token=t0ken", tmp_path)
        counts = (
            "JSON.stringify([[...edge.sensors.values()].map(s => [s.name, s.count]), "
            "document.querySelectorAll('.uplot').length, "
            "document.getElementById('empty').hidden, edge.axis])"
        )

        def ready() -> list | None:
            if not browser.evaluate("typeof edge !== 'undefined'"):
                return None
            return strict(browser.evaluate(counts))

        shown = wait_until(lambda: (r := ready()) and r[1] == 3 and r, 30, "three charts")
        assert sorted(shown[0]) == [[n, 80] for n in sorted(names)]
        assert shown[2] is True and shown[3] == "n"  # no "No sample yet"; bare numbers: by n
        # and live: one more sample of __proto__ reaches its chart
        peer.send("sensors/__proto__/value", "0.1")
        wait_until(
            lambda: browser.evaluate("edge.sensors.get('__proto__').count") == 81, 20, "live"
        )
        assert re.search(r"live", browser.evaluate("document.getElementById('status').textContent"))
    finally:
        if browser:
            browser.close()
        if peer:
            peer.close()
        code = serve.stop()
        broker.close()
    assert code == 0, serve.log
