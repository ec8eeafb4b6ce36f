"""`python -m bench.serve` (make serve-bench): `serve` end to end through a real Mosquitto broker
on this machine: the latency from publish to forecast, and the samples per second one service
process holds with many sensors. -> the serve-bench block of docs/runtime.md."""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from runtime.errors import ArgumentParser, UserError, positive, run_cli
from runtime.forecaster import load
from training.files import write_between_markers

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (USER_HZ)


class Client:
    """A paho client that publishes samples with their send time and collects the records."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.records: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.max_inflight_messages_set(1000)
        self.client.on_message = lambda c, u, m: self.records.put((time.time(), m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as serve
        self.client.subscribe("forecasts/#", qos=1)
        self.client.loop_start()

    def send(self, sensor: str, value: float) -> object:
        payload = json.dumps({"value": value, "time": time.time()})
        return self.client.publish(f"sensors/{sensor}/value", payload, qos=1)

    def collect(self, n: int, timeout: float) -> list[tuple[float, dict]]:
        """n records: (arrival time, record)."""
        out, end = [], time.monotonic() + timeout
        while len(out) < n:
            try:
                arrived, payload = self.records.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                raise UserError(f"{len(out)} of {n} records came back in {timeout} s") from None
            out.append((arrived, json.loads(payload)))
        return out


def measure(args: argparse.Namespace) -> dict:
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if not mosquitto:
        raise UserError("needs Debian's mosquitto: make serve-tools (as root)")
    model = load(args.artifacts, args.variant)
    rng = np.random.default_rng(0)
    values = (model.norm.center + model.norm.scale * 0.5 * np.sin(np.arange(10**5) / 9)).tolist()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "set_tcp_nodelay true\n"  # as on a broker set up for telemetry
            "max_queued_messages 0\n"  # a burst queues whole: mosquitto drops past 1000 by default
        )
        broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
        cmd = [sys.executable, "-m", "runtime", "serve", "--model", str(args.artifacts)]
        cmd += ["--mqtt", f"mqtt://127.0.0.1:{port}", "--client-id", "bench"]
        cmd += ["--variant", args.variant] if args.variant else []
        time.sleep(0.5)
        serve = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
        try:
            for line in serve.stderr:
                if "connected to" in line:
                    break
            client = Client(port)
            time.sleep(0.3)
            # latency: one sensor, paced, each sample's send time carried in its payload
            latencies = []
            for v in values[: args.latency_samples]:
                client.send("one", v)
                time.sleep(1 / args.rate)
            for arrived, record in client.collect(args.latency_samples, 60):
                latencies.append(arrived - record["time"])
            # throughput: many sensors at once, as fast as the broker takes them
            n = args.sensors * args.per_sensor
            cpu0, t0 = cpu_seconds(serve.pid), time.time()
            for i in range(args.per_sensor):
                for s in range(args.sensors):
                    client.send(f"s{s}", values[(i + 37 * s) % len(values)] + rng.normal(0, 0.01))
            sent = time.time()
            records = client.collect(n, 600)
            took, cpu = records[-1][0] - t0, cpu_seconds(serve.pid) - cpu0
        finally:
            serve.terminate()
            serve.wait(30)
            broker.terminate()
            broker.wait(10)
    ms = np.array(latencies) * 1e3
    return {
        "file": model.entry.path.name,
        "backend": model.backend.name,
        "latency_ms": {"median": float(np.median(ms)), "p99": float(np.percentile(ms, 99))},
        "latency_samples": args.latency_samples,
        "rate": args.rate,
        "sensors": args.sensors,
        "samples": n,
        "samples_per_s": n / took,
        "publish_per_s": n / (sent - t0),
        "serve_cpu_us_per_sample": cpu / n * 1e6,
    }


def table(r: dict) -> str:
    return (
        f"`serve` with {r['file']} on {r['backend']}, Mosquitto on this machine "
        "(`make serve-bench`):\n\n"
        "| measure | value |\n|---|---|\n"
        f"| publish -> forecast, median ({r['latency_samples']:,} samples at "
        f"{r['rate']:g}/s, one sensor) | {r['latency_ms']['median']:.2f} ms |\n"
        f"| publish -> forecast, p99 | {r['latency_ms']['p99']:.2f} ms |\n"
        f"| samples per second, {r['sensors']} sensors ({r['samples']:,} samples, QoS 1 "
        f"in and out) | {r['samples_per_s']:,.0f} |\n"
        f"| the service's CPU per sample | {r['serve_cpu_us_per_sample']:.0f} µs |\n"
        f"| (the one publisher's own rate) | {r['publish_per_s']:,.0f} /s |\n"
    )


def main() -> int:
    parser = ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=Path, default=REPO / "artifacts")
    parser.add_argument("--variant", help="the file to serve (default: serve's)")
    parser.add_argument("--sensors", type=positive(int), default=100)
    parser.add_argument("--per-sensor", type=positive(int), default=200)
    parser.add_argument("--latency-samples", type=positive(int), default=2000)
    parser.add_argument("--rate", type=positive(float), default=200.0, help="latency: samples/s")
    parser.add_argument("--doc", type=Path, help="write the table into this file's block")
    args = parser.parse_args()
    result = measure(args)
    text = table(result)
    print(text)
    if args.doc:
        write_between_markers(args.doc, "serve-bench", text)
    return 0


if __name__ == "__main__":
    run_cli(main)
