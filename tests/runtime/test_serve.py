"""`serve`, the device service, with real parts: Debian's Mosquitto on a free loopback port, paho
publishers and subscribers, the service as its own process, headless Chromium on its page."""

from __future__ import annotations

import json
import queue
import re
import shutil
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from runtime.errors import UserError
from runtime.forecaster import open_model
from runtime.serve import statefile
from runtime.serve.mqtt import parse_payload, sensor_of
from runtime.serve.service import Service
from runtime.stream import Stream
from tests.conftest import REPO, run_module
from tests.runtime.services import CHROMIUM, MOSQUITTO, Chromium, Mosquitto, Serve, wait_until

needs_broker = pytest.mark.skipif(not MOSQUITTO, reason="needs mosquitto (make serve-tools)")
SENSORS = ("boiler", "fan", "pump")
SAMPLES = 500
SPIKE = ("fan", 400)  # a sample far outside anything seen: the page must mark it
T0 = 1_796_000_000  # the JSON samples' first time (Unix seconds)


def series(model_dir: Path) -> dict[str, list[float]]:
    """Per sensor, SAMPLES noisy waves inside the model's range, and one spike."""
    norm = open_model(model_dir).norm
    rng = np.random.default_rng(7)
    out = {}
    for i, name in enumerate(SENSORS):
        t = np.arange(SAMPLES)
        x = 0.6 * np.sin(t / (4 + i) + i) + 0.02 * rng.standard_normal(SAMPLES)
        out[name] = (norm.center + norm.scale * x).tolist()
    name, at = SPIKE
    out[name][at] += 3 * norm.scale
    return out


def forecasts(model_dir: Path, values: list[float]) -> list[float | None]:
    """What Stream.push returns for each sample, in this process."""
    st = Stream(open_model(model_dir))
    return [st.push(v) for v in values]


class Publisher:
    """A paho client that publishes samples (QoS 1) and collects every record `serve` sends."""

    def __init__(self, url: str) -> None:
        import paho.mqtt.client as mqtt

        self.records: dict[str, list[dict]] = {s: [] for s in SENSORS}
        self.arrived: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(1, 1)
        self.subscribed = 0
        self.client.on_connect = lambda c, *_: c.subscribe("forecasts/#", qos=1)
        self.client.on_subscribe = lambda *_: setattr(self, "subscribed", self.subscribed + 1)
        self.client.on_message = lambda c, u, m: self.arrived.put(json.loads(m.payload))
        host, port = url.removeprefix("mqtt://").split(":")
        self.client.connect(host, int(port))
        self.client.loop_start()
        wait_until(lambda: self.subscribed, 10, "the test's subscription")

    def send(self, samples: dict[str, list[float]], start: int, stop: int, bad: int = -1) -> None:
        """Samples start..stop of every sensor, interleaved: boiler's as bare numbers, the
        others' as JSON with a time (one a second); a bad payload for pump before `bad`."""
        sent = []
        for i in range(start, stop):
            if i == bad:
                sent.append(self.client.publish("sensors/pump/value", "twenty", qos=1))
            for name in SENSORS:
                value = samples[name][i]
                payload = (
                    repr(value)
                    if name == "boiler"
                    else json.dumps({"value": value, "time": T0 + i})
                )
                sent.append(self.client.publish(f"sensors/{name}/value", payload, qos=1))
        for info in sent:
            info.wait_for_publish(30)

    def wait(self, per_sensor: int, timeout: float = 60) -> None:
        """Until every sensor has `per_sensor` records."""

        def done() -> bool:
            while not self.arrived.empty():
                r = self.arrived.get()
                self.records[r["sensor"]].append(r)
            return all(len(v) >= per_sensor for v in self.records.values())

        wait_until(
            done,
            timeout,
            f"{per_sensor} records per sensor, have "
            f"{ {k: len(v) for k, v in self.records.items()} }",
        )

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    yield b
    b.close()


@pytest.fixture
def publisher(broker):
    p = Publisher(broker.url)
    yield p
    p.close()


def start(model: Path, broker: Mosquitto, client_id: str, *more: str) -> Serve:
    """`serve` of model on the test's broker, under its own MQTT session."""
    return Serve("--model", str(model), "--mqtt", broker.url, "--client-id", client_id, *more)


def assert_answered_as_stream_push(publisher: Publisher, lstm_dir: Path, samples: dict) -> None:
    for name in SENSORS:
        got = publisher.records[name]
        assert [r["value"] for r in got] == samples[name]
        assert [r["n"] for r in got] == list(range(1, SAMPLES + 1))
        times = [None] * SAMPLES if name == "boiler" else list(range(T0, T0 + SAMPLES))
        assert [r["time"] for r in got] == times
        assert [r["forecast"] for r in got] == forecasts(lstm_dir, samples[name])


@needs_broker
@pytest.mark.skipif(not CHROMIUM, reason="needs chromium (make serve-tools)")
def test_three_sensors_are_forecast_as_stream_push_and_shown_live(
    broker, publisher, lstm_dir, tmp_path
):
    samples = series(lstm_dir)
    serve = start(lstm_dir, broker, "live", "--http", "127.0.0.1:0")
    browser = None
    try:
        serve.wait_for("connected to")
        url = re.search(r"live page at (\S+)", serve.log).group(1)
        browser = Chromium(url, tmp_path)
        status = "document.getElementById('status')?.textContent"
        wait_until(lambda: browser.evaluate(status) == "live", 30, "the page's event stream")
        counts = (
            "JSON.stringify(Object.fromEntries([...edge.sensors.values()].map(s => "
            "[s.name, [s.count, s.data[0].length, s.last.value]])))"
        )
        shown = lambda: json.loads(browser.evaluate(counts) or "{}")  # noqa: E731

        publisher.send(samples, 0, SAMPLES // 2, bad=100)
        publisher.wait(SAMPLES // 2)
        half = {s: [SAMPLES // 2, SAMPLES // 2, samples[s][SAMPLES // 2 - 1]] for s in SENSORS}
        wait_until(lambda: shown() == half, 20, f"the page at half way, shows {shown()}")
        publisher.send(samples, SAMPLES // 2, SAMPLES)
        publisher.wait(SAMPLES)
        full = {s: [SAMPLES, SAMPLES, samples[s][-1]] for s in SENSORS}
        wait_until(lambda: shown() == full, 20, f"the page at the end, shows {shown()}")

        # the page's charts: three, and the spike marked where the service flagged it
        assert browser.evaluate("document.querySelectorAll('.uplot').length") == 3
        name, at = SPIKE
        assert publisher.records[name][at]["anomaly"]
        marks = browser.evaluate(f"edge.sensors.get({name!r}).data[5]")
        assert marks[at] == samples[name][at]
        flagged = [i for i, r in enumerate(publisher.records[name]) if r["anomaly"]]
        assert [i for i, v in enumerate(marks) if v is not None] == flagged
        with urllib.request.urlopen(url + "api/sensors", timeout=10) as r:
            api = {s["name"]: s["records"] for s in json.load(r)["sensors"]}
        assert {k: v[-1] for k, v in api.items()} == {
            k: v[-1] for k, v in publisher.records.items()
        }
        shot = browser.screenshot(REPO / "build" / f"live-page{Path(sys.prefix).name}.png")
        print(f"screenshot: {shot}")
    finally:
        if browser:
            browser.close()
        code = serve.stop()
    assert_answered_as_stream_push(publisher, lstm_dir, samples)
    assert code == 0, serve.log
    assert "warning: sensors/pump/value: payload 'twenty' holds no finite number; skipped" in (
        serve.log
    )
    assert f"stopped: {3 * SAMPLES} samples from 3 sensors, 1 messages skipped" in serve.log


@needs_broker
def test_after_the_broker_restarts_every_sample_is_answered(broker, publisher, lstm_dir):
    samples = series(lstm_dir)
    serve = start(lstm_dir, broker, "restart")
    try:
        serve.wait_for("connected to")
        publisher.send(samples, 0, 200)
        publisher.wait(200)
        broker.kill()
        serve.wait_for(f"warning: lost {broker.url}")
        broker.start()
        serve.wait_for("reconnected to", timeout=30)
        wait_until(lambda: publisher.subscribed >= 2, 30, "the test's subscription again")
        publisher.send(samples, 200, SAMPLES)
        publisher.wait(SAMPLES)
    finally:
        code = serve.stop()
    assert code == 0, serve.log
    assert_answered_as_stream_push(publisher, lstm_dir, samples)


@needs_broker
def test_sigterm_then_a_restart_with_state_forecasts_as_one_run(
    broker, publisher, lstm_dir, tmp_path
):
    samples = series(lstm_dir)
    state = tmp_path / "state.json"
    serve = start(lstm_dir, broker, "stateful", "--state", str(state))
    try:
        serve.wait_for("connected to")
        publisher.send(samples, 0, 250)
        publisher.wait(250)
    finally:
        assert serve.stop() == 0, serve.log
    assert f"state saved to {state}" in serve.log
    publisher.send(samples, 250, SAMPLES)  # while it is down: the broker keeps them for it
    serve = start(lstm_dir, broker, "stateful", "--state", str(state))
    try:
        serve.wait_for(f"resumed 3 sensors ({3 * 250} samples) from {state}")
        publisher.wait(SAMPLES)
    finally:
        assert serve.stop() == 0, serve.log
    assert_answered_as_stream_push(publisher, lstm_dir, samples)


@needs_broker
def test_the_state_is_written_while_it_runs_not_only_at_the_end(
    broker, publisher, lstm_dir, tmp_path
):
    samples = series(lstm_dir)
    state = tmp_path / "state.json"
    serve = start(lstm_dir, broker, "periodic", "--state", str(state), "--state-every", "0.2")
    try:
        serve.wait_for("connected to")
        publisher.send(samples, 0, 100)
        publisher.wait(100)
        saved = lambda: json.loads(state.read_text())["samples"] == 300  # noqa: E731
        wait_until(saved, 10, "a state file with every sample")
    finally:
        serve.proc.kill()  # no SIGTERM: what a power cut leaves
        serve.close()
    resumed = Service(open_model(lstm_dir))
    assert statefile.restore(resumed, state) == 3
    assert {k: s.count for k, s in resumed.streams.items()} == dict.fromkeys(SENSORS, 100)


@needs_broker
def test_a_state_that_can_no_longer_be_written_is_said_and_the_service_goes_on(
    broker, publisher, lstm_dir, tmp_path
):
    folder = tmp_path / "state"
    folder.mkdir()
    state = folder / "state.json"
    serve = start(lstm_dir, broker, "lost-disk", "--state", str(state), "--state-every", "0.2")
    try:
        serve.wait_for("connected to")
        shutil.rmtree(folder)  # the disk is gone (root writes anywhere: a mode would not stop it)
        samples = series(lstm_dir)
        publisher.send(samples, 0, 60)
        serve.wait_for(f"warning: cannot write {state} (No such file or directory)")
        publisher.wait(60)  # every sample still answered
    finally:
        code = serve.stop()
    assert code == 1, serve.log
    assert "stopped: 180 samples from 3 sensors" in serve.log and "state saved" not in serve.log


def test_a_state_file_of_another_model_is_refused_in_one_line(lstm_dir, test_artifacts, tmp_path):
    state = tmp_path / "state.json"
    service = Service(open_model(lstm_dir))
    for v in series(lstm_dir)["pump"][:60]:
        service.handle("pump", v, 0, 0.0)
    statefile.save(service, state)
    before = state.read_bytes()
    res = run_module(
        "runtime",
        "serve",
        "--model",
        str(test_artifacts / "gru"),
        "--state",
        str(state),
        "--mqtt",
        "mqtt://127.0.0.1:9",
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    said = f"error: {state} holds the state of another model ({service.model.entry.path.name}, "
    assert len(lines) == 1 and lines[0].startswith(said), res.stderr
    assert state.read_bytes() == before  # nothing lost


def test_a_damaged_state_file_is_refused_whole(lstm_dir, tmp_path):
    state = tmp_path / "state.json"
    service = Service(open_model(lstm_dir))
    for name in ("a", "b"):
        for v in series(lstm_dir)["pump"][:60]:
            service.handle(name, v, 0, 0.0)
    statefile.save(service, state)
    saved = json.loads(state.read_text())
    del saved["sensors"]["b"]["stream"]["memory"]
    state.write_text(json.dumps(saved))
    fresh = Service(open_model(lstm_dir))
    said = "is damaged (the stream state has no 'memory'): move it away"
    with pytest.raises(UserError, match=re.escape(said)):
        statefile.restore(fresh, state)
    assert fresh.streams == {}  # not sensor a alone


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--mqtt", "http://broker"), "is not a broker address: give mqtt://HOST[:PORT]"),
        (("--subscribe", "sensors/a+/value"), "is not a topic filter"),
        (("--publish", "out/{name}"), "the only placeholder it may hold is {sensor}"),
        (("--http", "eighty"), "give [HOST:]PORT"),
        (("--http", "[]:80"), "give [HOST:]PORT"),
    ],
)
def test_bad_service_options_get_one_line(lstm_dir, args, says):
    res = run_module("runtime", "serve", "--model", str(lstm_dir), *args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and says in res.stderr, res.stderr


def test_payloads_and_topics():
    assert parse_payload(b"21.5", "value", "time") == (21.5, None)
    assert parse_payload(b'{"value": "3", "time": 17}', "value", "time") == (3.0, 17)
    assert parse_payload(b'{"temp": 1e3}', "temp", "time") == (1000.0, None)
    for bad in (b"twenty", b"nan", b"true", b"[1]", b'{"value": null}', b'{"x": 1}'):
        with pytest.raises(ValueError):
            parse_payload(bad, "value", "time")
    assert sensor_of("sensors/+/value", "sensors/boiler/value") == "boiler"
    assert sensor_of("site/+/+/t", "site/a/b/t") == "a/b"
    assert sensor_of("home/#", "home/kitchen/temp") == "kitchen/temp"
    assert sensor_of("plant/temp", "plant/temp") == "plant/temp"


@needs_broker
def test_the_serve_bench_measures_latency_and_throughput(lstm_dir):
    res = run_module(
        "bench.serve",
        *("--artifacts", str(lstm_dir), "--latency-samples", "50", "--sensors", "5"),
        *("--per-sensor", "20", "--rate", "500", "--pages", "2", "--repeat", "1"),
    )
    assert res.returncode == 0, res.stderr
    rows = dict(re.findall(r"^\| (.+?) \| ([\d.,]+) (?:ms|µs)?\s*\|$", res.stdout, re.M))
    median, p99 = (float(v) for k, v in rows.items() if k.startswith("publish -> forecast"))
    assert 0 < median <= p99
    assert float(rows["samples per second, 5 sensors"].replace(",", "")) > 0
    assert float(rows["samples per second, 5 sensors, 2 live pages open"].replace(",", "")) > 0
    assert len(rows) == 6  # every row once: a label used twice would hide a row


@needs_broker
def test_a_model_of_the_next_4_samples_publishes_them_as_a_list(broker, publisher, horizon_dir):
    samples = series(horizon_dir)
    count = 80
    serve = start(horizon_dir, broker, "horizon")
    try:
        serve.wait_for("connected to")
        publisher.send(samples, 0, count)
        publisher.wait(count)
    finally:
        code = serve.stop()
    assert code == 0, serve.log
    for name in SENSORS:
        st = Stream(open_model(horizon_dir))
        want = [st.push(v) for v in samples[name][:count]]
        got = [r["forecast"] for r in publisher.records[name]]
        assert got == [None if w is None else w.tolist() for w in want]
        assert sum(g is not None for g in got) == count - st.model.window - st.model.norm.lead + 1


def test_a_state_of_a_model_of_4_samples_ahead_is_kept_and_a_wrong_forecast_refused(
    horizon_dir, tmp_path
):
    state = tmp_path / "state.json"
    service = Service(open_model(horizon_dir))
    for v in series(horizon_dir)["pump"][:80]:
        service.handle("a", v, 0, 0.0)
    statefile.save(service, state)
    again = Service(open_model(horizon_dir))
    statefile.restore(again, state)
    assert list(again.history["a"]) == list(service.history["a"])
    saved = json.loads(state.read_text())
    saved["history"]["a"][-1]["forecast"] = [1.0, 2.0, 3.0]  # three numbers, not four
    state.write_text(json.dumps(saved))
    with pytest.raises(UserError, match=re.escape("a list of 4 numbers")):
        statefile.restore(Service(open_model(horizon_dir)), state)
