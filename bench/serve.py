"""`python -m bench.serve` (make serve-bench): `serve` end to end through a real Mosquitto broker
on this machine: the latency from publish to forecast, and the samples per second one service
process holds with many sensors, with and without live pages open. With --compare REF, the same
measures of the service at git REF, interleaved with this tree's in one run (absolute times on a
shared machine move between hours; their ratio measured side by side does not).
-> the serve-bench block of docs/runtime.md."""

from __future__ import annotations

import argparse
import json
import queue
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from runtime.cli.args import ArgumentParser, positive, run_cli
from runtime.errors import UserError
from runtime.forecaster import open_model
from training.files import commit, write_between_markers

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

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Pages:
    """`count` live pages' event streams, read (and dropped) by one thread."""

    def __init__(self, url: str, count: int) -> None:
        host, port = url.removeprefix("http://").strip("/").rsplit(":", 1)
        self.selector, self.bytes, self.stop = selectors.DefaultSelector(), 0, False
        for _ in range(count):
            s = socket.create_connection((host, int(port)))
            s.sendall(f"GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            self.selector.register(s, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stop:
            for key, _ in self.selector.select(0.5):
                self.bytes += len(key.fileobj.recv(1 << 16))

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()


@contextmanager
def broker() -> int:
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if not mosquitto:
        raise UserError("needs Debian's mosquitto: make serve-tools (as root)")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "set_tcp_nodelay true\n"  # as on a broker set up for telemetry
            "max_queued_messages 0\n"  # a burst queues whole: mosquitto drops past 1000 by default
        )
        proc = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


def measure(args: argparse.Namespace, tree: Path, pages: int, values: list[float]) -> dict:
    """One run of the service of the source tree `tree`: latency (without pages), then the
    throughput with `pages` event streams open."""
    with broker() as port:
        cmd = [sys.executable, "-m", "runtime", "serve", "--model", str(args.artifacts.resolve())]
        cmd += ["--mqtt", f"mqtt://127.0.0.1:{port}", "--client-id", "bench"]
        cmd += ["--http", "127.0.0.1:0"] + (["--variant", args.variant] if args.variant else [])
        serve = subprocess.Popen(cmd, cwd=tree, stderr=subprocess.PIPE, text=True)
        client = open_pages = None
        try:
            url = None
            for line in serve.stderr:
                url = url or (re.search(r"live page at (\S+)", line) or [None, None])[1]
                if "connected to" in line:
                    break
            threading.Thread(target=lambda: serve.stderr.read(), daemon=True).start()
            client = Client(port)
            time.sleep(0.3)
            latencies = []
            if not pages:  # latency: one sensor, paced, each sample's send time in its payload
                for v in values[: args.latency_samples]:
                    client.send("one", v)
                    time.sleep(1 / args.rate)
                for arrived, record in client.collect(args.latency_samples, 60):
                    latencies.append(arrived - record["time"])
            open_pages = Pages(url, pages) if pages else None
            time.sleep(0.3)
            n = args.sensors * args.per_sensor
            rng = np.random.default_rng(0)
            cpu0, t0 = cpu_seconds(serve.pid), time.time()
            for i in range(args.per_sensor):
                for s in range(args.sensors):
                    client.send(f"s{s}", values[(i + 37 * s) % len(values)] + rng.normal(0, 0.01))
            records = client.collect(n, 600)
            took, cpu = records[-1][0] - t0, cpu_seconds(serve.pid) - cpu0
        finally:
            for part in (open_pages, client):
                if part:
                    part.close()
            serve.terminate()
            serve.wait(30)
    ms = np.array(latencies) * 1e3 if latencies else np.array([np.nan])
    return {
        "median_ms": float(np.median(ms)),
        "p99_ms": float(np.percentile(ms, 99)),
        "samples_per_s": n / took,
        "cpu_us": cpu / n * 1e6,
        "page_bytes": open_pages.bytes if open_pages else 0,
    }


@contextmanager
def worktree(ref: str | None):
    """This tree, or a checkout of `ref` beside it (removed after)."""
    if ref is None:
        yield REPO, "this tree"
        return
    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    if not commit:
        raise UserError(f"--compare {ref!r} is no git revision of this repository")
    subprocess.run(["git", "worktree", "add", "--detach", str(tmp), ref], cwd=REPO, check=True)
    try:
        yield tmp, commit
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tmp)], cwd=REPO, check=False)


def run(args: argparse.Namespace) -> dict:
    """Every measure, for this tree and (--compare) the other, runs interleaved; per measure the
    median over --repeat runs."""
    model = open_model(args.artifacts, args.variant)
    values = (model.norm.center + model.norm.scale * 0.5 * np.sin(np.arange(10**5) / 9)).tolist()
    result = {"file": model.entry.path.name, "backend": model.backend.name, "trees": {}}
    with worktree(None) as here, worktree(args.compare) as other:
        trees = [here] + ([other] if args.compare else [])
        runs: dict[tuple[str, int], list[dict]] = {}
        for _ in range(args.repeat):
            for path, name in trees:
                for pages in (0, args.pages):
                    print(f"{name}, {pages} pages ...", file=sys.stderr, flush=True)
                    runs.setdefault((name, pages), []).append(measure(args, path, pages, values))
        for (name, pages), got in runs.items():
            median = {k: float(np.median([g[k] for g in got])) for k in got[0]}
            result["trees"].setdefault(name, {})[pages] = median
    return result


def table(r: dict, args: argparse.Namespace) -> str:
    names = list(r["trees"])
    # each label once: a reader (and the test) finds a row by its label
    with_pages = f"{args.sensors} sensors, {args.pages} live pages open"
    head = "| measure | " + " | ".join(names) + (" | ratio |" if len(names) == 2 else " |")
    rows = [
        (f"publish -> forecast, median ({args.latency_samples:,} at {args.rate:g}/s)", 0,
         "median_ms", "{:.2f} ms"),
        ("publish -> forecast, p99", 0, "p99_ms", "{:.2f} ms"),
        (f"samples per second, {args.sensors} sensors", 0, "samples_per_s", "{:,.0f}"),
        (f"samples per second, {with_pages}", args.pages, "samples_per_s", "{:,.0f}"),
        ("the service's CPU per sample", 0, "cpu_us", "{:.0f} µs"),
        (f"the service's CPU per sample, {with_pages}", args.pages, "cpu_us", "{:.0f} µs"),
    ]  # fmt: skip
    lines = [head, "|---" * (len(names) + 1 + (len(names) == 2)) + "|"]
    for label, pages, key, fmt in rows:
        cells = [fmt.format(r["trees"][n][pages][key]) for n in names]
        if len(names) == 2:
            a, b = (r["trees"][n][pages][key] for n in names)
            cells.append(f"{a / b:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return (
        f"`serve` with {r['file']} on {r['backend']}, Mosquitto on this machine, "
        f"{args.sensors * args.per_sensor:,} samples a run (QoS 1 in and out), the median of "
        f"{args.repeat} interleaved runs (`make serve-bench`{', at ' + args.commit}):\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main() -> int:
    parser = ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=Path, default=REPO / "artifacts")
    parser.add_argument("--variant", help="the file to serve (default: serve's)")
    parser.add_argument("--sensors", type=positive(int), default=100)
    parser.add_argument("--per-sensor", type=positive(int), default=200)
    parser.add_argument("--pages", type=positive(int), default=50, help="live pages open")
    parser.add_argument("--latency-samples", type=positive(int), default=2000)
    parser.add_argument("--rate", type=positive(float), default=200.0, help="latency: samples/s")
    parser.add_argument("--repeat", type=positive(int), default=2, help="runs of each measure")
    parser.add_argument("--compare", metavar="REF", help="also measure the service at git REF")
    parser.add_argument("--doc", type=Path, help="write the table into this file's block")
    args = parser.parse_args()
    args.commit = commit()
    text = table(run(args), args)
    print(text)
    if args.doc:
        write_between_markers(args.doc, "serve-bench", text)
    return 0


if __name__ == "__main__":
    run_cli(main)
