"""`python -m picheck`: the runtime and every exported file on an emulated Raspberry Pi OS (arm64).

Exit codes: 0 all good, 1 a file ran differently or failed on the emulated Pi, 2 bad usage,
3 not root, 4 no arm64 emulation (binfmt_misc/qemu) on this machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from runtime.cli.args import ArgumentParser
from runtime.errors import UserError
from runtime.interpreters import FORMAT_BACKENDS
from runtime.manifest import read_manifest

from .compare import outcome, verify_runs, verify_table
from .guest import guest_layout, guest_tests, prepare_guest
from .rootfs import (
    ARMHF_CPU,
    CPUS,
    PI_OS,
    NeedsRoot,
    NoEmulation,
    chroot,
    ensure_host_tools,
    ensure_rootfs,
    mounted,
)

REPO = Path(__file__).resolve().parent.parent
HOST_VENV = {
    "litert": ".venv-device",
    "onnxruntime": ".venv-device",
    "tflite-runtime": ".venv-classic",
    "numpy": ".venv-device",
    "c": ".venv-device",
}
SAMPLES = 2000  # streamed through every file on the host and the Pi: enough to see int8 rounding
# a real series' model whose parity `runtime verify` checks on the Pi too (when make test built it)
REAL_SERIES_MODEL = REPO / "build" / "test-artifacts" / "nab"


def stream_cmd(python: str, model: str, backend: str, source: str) -> list[str]:
    """The runtime CLI streaming `source` (sim or a file of samples) through one file."""
    args = f"-m runtime stream --backend {backend} --count {SAMPLES} --format jsonl".split()
    return [python, *args, "--model", model, "--input", source]


def write_samples(artifacts: Path, path: Path) -> str:
    """The input to stream, inside the training range (so int8 inputs do not saturate and the
    comparison means something): the end of the model's own series, then a signal it has not
    seen (0.9 sin(0.13 t) + 0.05 sin(0.7 t) in model units); or the `sim` sensor."""
    import numpy as np

    from runtime.windows import Normalization

    windows = artifacts / "windows.npz"
    if not windows.exists():
        return "sim"
    norm = Normalization.from_dict(read_manifest(artifacts)["model"]["normalization"])
    t = np.arange(SAMPLES - SAMPLES // 2)
    unseen = 0.9 * np.sin(0.13 * t) + 0.05 * np.sin(0.7 * t)
    own = np.load(windows)["series"][-(SAMPLES // 2) :]
    values = norm.invert(np.concatenate([own, unseen]))
    if norm.lead:  # a change model's series holds steps: stream the samples they make
        values = np.cumsum(values)
    path.write_text("".join(f"{v!r}\n" for v in values.tolist()))
    return str(path)


def host_runs(artifacts: Path, files: list[dict], source: str) -> dict:
    """The same streams on this machine, in the device environments: the reference."""
    out = {}
    for f in files:
        for backend in FORMAT_BACKENDS[f["format"]]:
            python = REPO / HOST_VENV[backend] / "bin" / "python"
            if python.exists():
                cmd = stream_cmd(str(python), str(artifacts / f["file"]), backend, source)
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
                out[(f["file"], backend)] = outcome(proc)
    return out


def parse_args() -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m picheck",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument(
        "--cpu",
        choices=sorted(CPUS),
        default="pi4",
        help="pi4: Cortex-A72 (default); pi5: Cortex-A76",
    )
    parser.add_argument(
        "--os",
        choices=sorted(PI_OS),
        default="bookworm",
        help="the Debian release under Raspberry Pi OS: trixie (today's, Python 3.13), "
        "bookworm (Python 3.11, the default), or bookworm-armhf (the 32-bit OS: numpy from "
        "Debian and the C files, as no interpreter has an armv7l wheel)",
    )
    parser.add_argument(
        "--skip-tests",
        action="store_true",
        help="only stream the files, do not run the runtime's tests",
    )
    return parser.parse_args()


@dataclass
class Guest:
    """The emulated system: its root, CPU and which venv runs which interpreter."""

    root: Path
    cpu: str
    venvs: dict
    runs: dict
    missing: dict

    def run(self, cmd: list[str], timeout: int) -> subprocess.CompletedProcess:
        return chroot(self.root, self.cpu, "cd /work && " + " ".join(cmd), timeout=timeout)


def stream_rows(guest: Guest, manifest: dict, host: dict, source: str, say) -> tuple[list, int]:
    """Each file streamed on the Pi beside the host's stream: table rows and how many differ."""
    rows, failures = [], 0
    scale = manifest["model"]["normalization"]["scale"]
    for f in manifest["files"]:
        bound = f["parity"]["tolerance"]
        for backend in FORMAT_BACKENDS[f["format"]]:
            venv = guest.runs[backend]
            if venv in guest.missing:
                rows.append(f"| {f['file']} | {backend} | {guest.missing[venv]} | | | |")
                continue
            t0 = time.perf_counter()
            python = f"/opt/{venv}/bin/python"
            proc = guest.run(stream_cmd(python, f"artifacts/{f['file']}", backend, source), 600)
            seconds = time.perf_counter() - t0
            status, pred = outcome(proc)
            ref_status, ref = host.get((f["file"], backend), ("not run on host", None))
            diff = ""
            if pred is not None and ref is not None:
                d = max(abs(a - b) for a, b in zip(pred, ref, strict=True)) / scale
                diff = f"{d:.1e}"
                if d > bound:
                    failures += 1
                    status += " **beyond the bound**"
            elif status != ref_status:
                failures += status == "ran" or ref_status == "ran"
                status += f" (host: {ref_status})"
            rows.append(
                f"| {f['file']} | {backend} | {status} | {diff} | {bound:.0e} | {seconds:.1f} |"
            )
            say(rows[-1])
    return rows, failures


def verify_rows(guest: Guest, artifacts: Path, say) -> tuple[list, int]:
    """`runtime verify` on the host and on the Pi for the default model (and the real series'
    test model when there is one): table rows and how many files miss their bound."""
    models = {"default (--artifacts)": (artifacts, "artifacts")}
    if (REAL_SERIES_MODEL / "manifest.json").is_file():
        models["NAB ambient (test model)"] = (REAL_SERIES_MODEL, "build/test-artifacts/nab")
    host_python = {b: str(REPO / v / "bin" / "python") for b, v in HOST_VENV.items()}
    guest_python = {b: f"/opt/{v}/bin/python" for b, v in guest.runs.items() if v in guest.venvs}
    lines, failures = [], 0
    for name, (host_folder, guest_folder) in models.items():
        on_host = verify_runs(
            str(host_folder),
            host_python,
            lambda cmd: subprocess.run(cmd, capture_output=True, text=True, cwd=REPO),
        )
        on_pi = verify_runs(guest_folder, guest_python, lambda cmd: guest.run(cmd, 1800))
        rows, missed = verify_table(name, on_host, on_pi)
        failures += missed
        lines += rows
        for row in rows:
            say(row)
    return lines, failures


def report(args, cpu: str, test_lines: list, verify_lines: list, stream_lines: list, seconds):
    """pi-check.md's text."""
    _, arch, about = PI_OS[args.os]
    return [
        f"# pi-check: Raspberry Pi OS user space ({args.os}: {about}, {arch}) under qemu, {cpu}",
        "",
        *test_lines,
        "",
        "`python -m runtime verify` on the emulated Pi and on this machine: every file on every "
        "interpreter there, held to its bound against Keras on the export's test windows and "
        "stress windows (max deviation in model units; int8 within the training range + 10%).",
        "",
        "| model | file | interpreter | host vs Keras (test / stress) | Pi vs Keras "
        "(test / stress) | bound | on the Pi |",
        "|---|---|---|---:|---:|---:|---|",
        *verify_lines,
        "",
        f"Each file streams {SAMPLES} samples (the end of the model's own series, then a signal "
        "it has not seen, all inside its training range) through `python -m runtime stream` in "
        "the emulated system and on this machine (device environments); the forecasts are "
        "compared. On arm64, tflite-runtime runs integer files with its reference kernels (its "
        "optimized int8 kernels crash there, signal 11). Seconds are wall time, with the tests "
        "running beside the streams.",
        "",
        "| file | interpreter | on the emulated Pi | max diff from host (model units) "
        "| bound | seconds |",
        "|---|---|---|---:|---:|---:|",
        *stream_lines,
        "",
        f"Total {seconds:.0f}s.",
        "",
    ]


def main() -> int:
    """Build or reuse the emulated system, run the checks, print and write the table."""
    args = parse_args()
    say = lambda s: print(s, flush=True)  # noqa: E731
    artifacts = args.artifacts.resolve()
    manifest = read_manifest(artifacts)
    _, arch, _ = PI_OS[args.os]
    cpu = CPUS[args.cpu] if arch == "arm64" else ARMHF_CPU
    t_start = time.perf_counter()
    ensure_host_tools(say, arch)
    guest = Guest(ensure_rootfs(say, args.os), cpu, *guest_layout(args.os))
    test_lines, failures = [], 0
    with mounted(guest.root), ThreadPoolExecutor(1) as pool:
        prepare_guest(guest.root, cpu, artifacts, say, guest.venvs)
        # the tests and the streams each keep one core busy: together they take about as long
        # as the tests alone
        test_venv = guest.runs["numpy"]  # the venv every release has
        tests = None if args.skip_tests else pool.submit(guest_tests, guest.root, cpu, test_venv)
        if tests:
            say(f"running the runtime's tests on the emulated Pi ({cpu}) in the background ...")
        source = write_samples(artifacts, guest.root / "work" / "samples.txt")
        say(f"streaming {SAMPLES} samples through every file on the host and the Pi ...")
        host = host_runs(artifacts, manifest["files"], source)
        guest_source = "sim" if source == "sim" else "samples.txt"
        stream_lines, missed = stream_rows(guest, manifest, host, guest_source, say)
        failures += missed
        say("runtime verify on the host and on the Pi (every file against Keras) ...")
        verify_lines, missed = verify_rows(guest, artifacts, say)
        failures += missed
        if tests:
            if not tests.done():
                say("waiting for the runtime's tests ...")
            line, ok = tests.result()
            test_lines.append(line)
            failures += not ok
            say(line)
    seconds = time.perf_counter() - t_start
    text = report(args, cpu, test_lines, verify_lines, stream_lines, seconds)
    name = "pi-check.md" if args.os == "bookworm" else f"pi-check-{args.os}.md"
    (artifacts / name).write_text("\n".join(text))
    say(f"-> {artifacts}/{name} ({seconds:.0f}s)")
    return 1 if failures else 0


def _main() -> None:
    """Exit codes of the module's docstring: NeedsRoot 3, NoEmulation 4, bad usage 2."""
    try:
        code = main()
    except NeedsRoot as e:
        print(f"error: {e}", file=sys.stderr)
        code = 3
    except NoEmulation as e:
        print(f"error: {e}", file=sys.stderr)
        code = 4
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    _main()
