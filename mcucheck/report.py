"""artifacts/mcu-check.md: one row per C source and target."""

from __future__ import annotations

import json
from pathlib import Path

COLUMNS = (
    "source",
    "flash: source + libraries (B)",
    "RAM: stream + stack + libraries (B)",
    "instructions per sample: model / with score",
    "max dev (bound)",
    "vs this machine: ef_step / ef_push, score",
)


def markdown(rows: list[dict], artifacts: Path) -> str:
    """The table, with what was measured and how."""
    meta = json.loads((artifacts / "model.json").read_text())
    m = meta["model"]
    lines = [
        "# The C forecaster on microcontrollers (`make mcu-check`)",
        "",
        f"Model: {m['cell']} x{m['layers']}, {m['units']} units, {m['params']:,} parameters, "
        f"window {meta['window']}. Each source runs bare-metal under QEMU: ef_step over the "
        "export's reference stream and stress windows (the gate's inputs), then ef_push "
        "(forecast, anomaly score and flags) over the model's first samples.",
        "",
    ]
    lines += tables(rows)
    lines += [
        "Flash: the source's object (text, read-only data and initialized data) and what it "
        "pulls from newlib's libm and libc and libgcc, from the linker's map. RAM: one "
        "`ef_stream`, the stack's high-water mark (the stack painted at reset, measured after "
        "the run: the harness's frame included) and the libraries' data (newlib's reentrancy "
        "struct). Instructions: QEMU's -icount shift=0 runs one instruction per nanosecond of "
        "the board's clock, SysTick counts that clock, and a loop of 2,000,000 known "
        "instructions converts ticks to instructions. max dev: the microcontroller's forecasts "
        "against Keras's, normalized units, stream and stress windows, as the export's gate "
        "holds the file. vs this machine: the largest differences from the same harness built "
        "with this machine's gcc (forecasts in normalized units, then the anomaly score).",
        "",
    ]
    return "\n".join(lines)


def tables(rows: list[dict]) -> list[str]:
    """A table per target (the lines of markdown)."""
    lines: list[str] = []
    for target in dict.fromkeys(r["target"] for r in rows):
        mine = [r for r in rows if r["target"] == target]
        lines += [f"## {target} (QEMU {mine[0]['machine']})", ""]
        lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for r in mine:
            # the integer source has no ef_push (no score): its state is its stream
            push = "" if r["instructions_push"] is None else f" / {r['instructions_push']:,.0f}"
            apart = "" if r["apart_from_here"] is None else f"{r['apart_from_here']:.1e}"
            if r["push_apart"] is not None:
                apart += f" / {r['push_apart']:.1e}, {r['score_apart']:.1e}"
            lines.append(
                f"| {r['source']} | {r['flash_source']:,} + {r['flash_libraries']:,} "
                f"| {r['stream_bytes']:,} + {r['stack_bytes']:,} + {r['ram_libraries']:,} "
                f"| {r['instructions_step']:,.0f}{push} "
                f"| {r['max_dev']:.1e} ({r['tolerance']:.0e}) {'ok' if r['passed'] else 'FAILED'} "
                f"| {apart} |"
            )
        lines.append("")
    return lines
