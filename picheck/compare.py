"""The Pi's results beside this machine's: streamed forecasts and `runtime verify` per file."""

from __future__ import annotations

import json
import subprocess


def verify_runs(folder: str, python_of: dict[str, str], run: object) -> dict:
    """`runtime verify --json` in each venv: {(file, backend): parity dict}."""
    out = {}
    for venv in dict.fromkeys(python_of.values()):
        proc = run([venv, "-m", "runtime", "verify", folder, "--json"])
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                out[(r["file"], r["backend"])] = r
        if not any(line.startswith("{") for line in proc.stdout.splitlines()):
            err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            out[("*", venv)] = {"error": err[:200]}
    return out


def verify_table(name: str, host: dict, pi: dict) -> tuple[list[str], int]:
    """Rows of device-vs-Keras beside host-vs-Keras for one model, and how many miss a bound."""
    rows, failures = [], 0
    for key in sorted(set(host) | set(pi), key=lambda k: (k[0], k[1])):
        if key[0] == "*":
            rows.append(
                f"| {name} | | {key[1]} | | verify failed: {(pi.get(key) or host[key])} | |"
            )
            failures += 1
            continue
        h, p = host.get(key), pi.get(key)

        def cell(r: dict | None) -> str:
            return f"{r['max_abs']:.1e} / {r['stress_max_abs']:.1e}" if r else "not run"

        verdict = "pass" if p and p["passed"] else "**FAILED**" if p else "not run on the Pi"
        failures += bool(p) and not p["passed"]
        bound = (p or h)["tolerance"]
        rows.append(
            f"| {name} | {key[0]} | {key[1]} | {cell(h)} | {cell(p)} | {bound:.0e} | {verdict} |"
        )
    return rows, failures


def outcome(proc: subprocess.CompletedProcess) -> tuple[str, list[float] | None]:
    """('ran', forecasts) or ('refused: why' / 'crashed: signal N' / 'failed: why', None)."""
    if proc.returncode == 0:
        rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return "ran", [r["prediction"] for r in rows if r["prediction"] is not None]
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode == 2 and err and err[-1].startswith("error:"):
        return f"refused: {err[-1][len('error: ') :][:120]}", None
    if proc.returncode < 0 or proc.returncode in (132, 134, 135, 139):
        sig = -proc.returncode if proc.returncode < 0 else proc.returncode - 128
        return f"crashed: signal {sig}", None
    return f"failed: exit {proc.returncode}: {(err or ['no message'])[-1][:120]}", None
