"""`serve` against what a hostile or unlucky network sends: a real Mosquitto, the real service
process, real paho clients. After each input the service is alive, answers the next good sample
as Stream.push does, emits strict JSON only, and its log and memory stay bounded."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from runtime.forecaster import open_model
from runtime.stream import Stream
from tests.conftest import run_module
from tests.runtime.services import MOSQUITTO, Mosquitto, Peer, Serve, strict

pytestmark = pytest.mark.skipif(not MOSQUITTO, reason="needs mosquitto (make serve-tools)")

MAX_SENSORS = 1000
LOG_LINES = 120  # the whole run's log, every hostile input included: at most this many lines
RSS_MB = 250  # the service's resident memory after all of it, 20,000 sensors tried included


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Canary:
    """A good sensor: each check sends its next sample and compares the record's forecast
    with Stream.push's on the same samples."""

    def __init__(self, model_dir: Path, peer: Peer, topic: str) -> None:
        model = open_model(model_dir)
        self.stream, self.peer, self.topic = Stream(model), peer, topic
        t = np.arange(100_000)
        self.values = (model.norm.center + 0.5 * model.norm.scale * np.sin(t / 7)).tolist()
        self.i = 0

    def check(self, serve: Serve, after: str) -> None:
        assert serve.proc.poll() is None, f"serve ended after {after}: {serve.log}"
        value = self.values[self.i]
        self.i += 1
        self.peer.send(self.topic, repr(value))
        record = self.peer.next_record("canary")
        want = self.stream.push(value)
        assert record["value"] == value and record["forecast"] == want, after
        assert record["n"] == self.i, after


def api(url: str) -> dict:
    with urllib.request.urlopen(url + "api/sensors", timeout=30) as r:
        return strict(r.read())


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    yield b
    b.close()


def test_nothing_a_peer_sends_stops_it_or_makes_it_emit_bad_json(broker, lstm_dir):
    serve = Serve(
        *("--model", str(lstm_dir), "--mqtt", broker.url, "--client-id", "hostile"),
        *("--subscribe", "sensors/#", "--publish", "forecasts/{sensor}"),
        *("--max-sensors", str(MAX_SENSORS), "--http", "0"),
    )
    peer = None
    try:
        serve.wait_for("connected to")
        url = serve.wait_for("live page at").split("live page at ")[1].split()[0]
        peer = Peer(broker.url)
        canary = Canary(lstm_dir, peer, "sensors/canary")  # the sensor "canary" (sensors/#)
        for _ in range(60):  # a window in: the canary's records carry forecasts
            canary.check(serve, "warming up")
        hostile = {
            "1,000 nested lists": [("sensors/nest", "[" * 1000)],
            "a JSON object nested 10,000 deep": [("sensors/nest", '{"value":' + "[" * 10_000)],
            "a 10 MB payload": [("sensors/big", b"1" * 10_000_000)],
            "1e308": [("sensors/huge", "1e308"), ("sensors/huge", '{"value": -1e308}')],
            "NaN and Infinity values": [
                ("sensors/nan", v) for v in ("NaN", "nan", "Infinity", '{"value": NaN}', "1e999")
            ],
            "NaN, Infinity and huge times": [
                ("sensors/times", '{"value": 1.0, "time": NaN}'),
                ("sensors/times", '{"value": 1.0, "time": Infinity}'),
                ("sensors/times", '{"value": 1.0, "time": "' + "x" * 1_000_000 + '"}'),
                ("sensors/times", '{"value": 1.0, "time": {"a": [1, 2]}}'),
                ("sensors/times", '{"value": 1.0, "time": ' + "9" * 4000 + "}"),
            ],
            "binary garbage": [("sensors/bin", os.urandom(2000)) for _ in range(5)],
            "a topic too long to publish": [("sensors/" + "t" * 65_527, "1.0")],
            "names that are no topic level": [("sensors//value", "1.0"), ("sensors/a//b", "1")],
        }
        for what, messages in hostile.items():
            peer.send_many(messages)
            canary.check(serve, what)
            strict_page = api(url)
            assert {s["name"] for s in strict_page["sensors"]} <= {"canary", "times", "huge"}

        # sensors named after JavaScript's object internals are sensors like any other
        for name in ("__proto__", "constructor", "toString"):
            peer.send(f"sensors/{name}", "0.5")
            assert peer.next_record(name)["value"] == 0.5
        canary.check(serve, "__proto__ and constructor")

        # 10,000 bad payloads on 100 topics: a few lines, and a count of the rest
        before = len(serve.lines)
        peer.send_many([(f"sensors/bad{i % 100}", "twenty") for i in range(10_000)])
        canary.check(serve, "10,000 bad payloads")
        assert len(serve.lines) - before <= 31, serve.log

        # 20,000 new sensors past --max-sensors 1000: 1,000 kept, the rest refused, a few lines
        peer.send_many([(f"sensors/s{i}", "0.25") for i in range(20_000)])
        canary.check(serve, "20,000 sensors")
        names = {s["name"] for s in api(url)["sensors"]}
        assert len(names) == MAX_SENSORS and "canary" in names
        memory = rss_mb(serve.proc.pid)
        assert memory < RSS_MB, f"{memory:.0f} MB resident"
    finally:
        if peer:
            peer.close()
        code = serve.stop()
    assert code == 0, serve.log
    assert len(serve.lines) <= LOG_LINES and max(map(len, serve.lines)) <= 400, serve.log
    said = serve.log
    assert "sensors/nest: JSON nested too deeply; skipped" in said
    assert "a payload of 10,000,000 bytes, over the 65,536 allowed (--max-payload)" in said
    assert "1e+308 is absurdly far from the model's training range" in said
    assert "its time is not a finite number or a text of at most 64 characters" in said
    assert "its topic to publish is over MQTT's 65,535 bytes" in said
    assert said.count("a new sensor past --max-sensors (1,000); refused") == 1
    assert "sensors/bad0: payload 'twenty' holds no finite number; skipped" in said
    assert "more like these in the last" in said or len(serve.lines) < 40
    print(f"serve: {memory:.0f} MB resident, {len(serve.lines)} log lines:\n{serve.log}")


def test_a_poison_message_is_answered_once_not_for_ever(broker, lstm_dir):
    """Published while the service is down (the broker keeps it for the session): the next
    start skips it with a line and answers what follows; the start after does not see it."""
    args = ("--model", str(lstm_dir), "--mqtt", broker.url, "--client-id", "poisoned")
    serve = Serve(*args)
    serve.wait_for("connected to")
    assert serve.stop() == 0
    peer = Peer(broker.url)
    try:
        peer.send("sensors/nest/value", "{" * 1000)
        peer.send("sensors/good/value", "0.5")
        for run in range(2):
            serve = Serve(*args)
            serve.wait_for("connected to")
            if run == 0:
                assert peer.next_record("good")["value"] == 0.5
            peer.send("sensors/later/value", "0.25")
            assert peer.next_record("later")["value"] == 0.25
            assert serve.stop() == 0, serve.log
            poison = "warning: sensors/nest/value: payload '{{{{{{{{{{"
            assert (poison in serve.log) == (run == 0), serve.log
    finally:
        peer.close()


def test_a_state_file_with_a_mistyped_field_is_refused_whole(lstm_dir, tmp_path):
    from runtime.serve import statefile
    from runtime.serve.service import Service

    state = tmp_path / "state.json"
    service = Service(open_model(lstm_dir))
    for i in range(80):
        service.handle("pump", float(np.sin(i / 5)), None, 0.0)
    statefile.save(service, state)
    saved = strict(state.read_bytes())
    for where, bad in (("count", "80"), ("score", [[0] * 3])):
        saved["sensors"]["pump"]["stream"][where] = bad
        state.write_text(json.dumps(saved))
        before = state.read_bytes()
        res = run_module("runtime", "serve", "--model", str(lstm_dir), "--state", str(state))
        assert res.returncode == 2, res.stderr
        assert res.stderr.count("\n") == 1 and "is damaged (" in res.stderr, res.stderr
        assert state.read_bytes() == before
