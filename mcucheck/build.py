"""Build the harness with one generated C source, for a target or for this machine, and run it."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.c import source_name
from export.c_text import float_literal
from runtime.compiler import compiler
from runtime.errors import UserError
from runtime.parity import REFERENCE, Reference

from .targets import Target, linker_script

HARNESS = Path(__file__).resolve().parent / "harness.c"
OPT = ("-std=c99", "-O2", "-ffunction-sections", "-fdata-sections", "-fno-math-errno")
SAMPLES = 1000  # ef_push over the model's first samples, data units
QEMU_TIMEOUT_S = 600


@dataclass
class Build:
    """A linked harness and what its parts cost in bytes: the source as a whole (its object),
    the libraries and the harness as linked (the linker's map)."""

    elf: Path
    flash: dict[str, int]  # text + rodata + data, by origin: the source, libraries, harness
    ram: dict[str, int]  # data + bss, by origin


def data_header(artifacts: Path) -> str:
    """MCU_SERIES and MCU_STRESS (model units, the export's reference) and MCU_SAMPLES (the
    model's own series, data units) as C arrays."""
    ref = Reference.load(artifacts / REFERENCE)
    values = np.load(artifacts / "windows.npz")["values"][:SAMPLES]
    stress = ref.stress_x[..., 0]

    def floats(a: np.ndarray) -> str:
        return ", ".join(float_literal(v) for v in np.asarray(a, np.float32).reshape(-1))

    return (
        f"#define MCU_SERIES_LEN {len(ref.series)}\n"
        f"static const float MCU_SERIES[] = {{{floats(ref.series)}}};\n"
        f"#define MCU_STRESS_LEN {len(stress)}\n"
        f"static const float MCU_STRESS[][{stress.shape[1]}] = {{{floats(stress)}}};\n"
        f"#define MCU_SAMPLES_LEN {len(values)}\n"
        f"static const float MCU_SAMPLES[] = {{{floats(values)}}};\n"
    )


def _run(cmd: list[str], what: str, timeout: float = 300) -> str:
    """What cmd printed, stdout and stderr together (QEMU's semihosting writes to either)."""
    try:
        res = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise UserError(f"{what} did not finish in {timeout:.0f} s") from None
    if res.returncode:
        raise UserError(f"{what} failed: {res.stdout.strip()[-2000:]}")
    return res.stdout


def build(artifacts: Path, precision: str, target: Target | None, work: Path) -> Build:
    """The harness with artifacts/c/forecaster_<precision>.c, for `target` (None: this machine's
    gcc), in `work`."""
    c = artifacts / "c"
    if not (c / source_name(precision)).is_file():
        raise UserError(f"no {c / source_name(precision)}: export with a C compiler installed")
    work.mkdir(parents=True, exist_ok=True)
    (work / "mcu_data.h").write_text(data_header(artifacts))
    name = target.name if target else "host"
    elf = work / f"{name}_{precision}.elf"
    srcs = [str(HARNESS), str(c / source_name(precision))]
    inc = ["-I", str(c), "-I", str(work)]
    if target is None:
        cc = compiler()
        if cc is None:
            raise UserError("no C compiler here to build the harness with: install gcc")
        _run([cc, *OPT, *inc, "-o", str(elf), *srcs, "-lm"], cc)
        return Build(elf, {}, {})
    (work / f"{name}.ld").write_text(linker_script(target))
    objects = []
    for src in srcs:  # one object each: the map then says which bytes are the forecaster's
        objects.append(str(work / f"{name}_{Path(src).stem}.o"))
        _run(["arm-none-eabi-gcc", *target.cflags, *OPT, *inc, "-c", "-o", objects[-1], src],
             f"arm-none-eabi-gcc for {target.core}")  # fmt: skip
    _run(
        ["arm-none-eabi-gcc", *target.cflags, "-nostartfiles", "-T", str(work / f"{name}.ld"),
         f"-Wl,-Map={elf.with_suffix('.map')}", "-Wl,--gc-sections", "-o", str(elf), *objects,
         "-lm"],
        f"linking for {target.core}",
    )  # fmt: skip
    flash, ram = map_sizes(elf.with_suffix(".map").read_text(), source_name(precision))
    # the source as a whole (every function, as a project adding it pays), not what the harness kept
    size = _run(["arm-none-eabi-size", objects[-1]], "arm-none-eabi-size").splitlines()[1]
    text, data, bss = (int(v) for v in size.split()[:3])
    flash["source"], ram["source"] = text + data, data + bss
    return Build(elf, flash, ram)


# an input section in the map: name, address, size, object (possibly archive(member))
SECTION = re.compile(r"^ (\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", re.M)
SPLIT = re.compile(r"^ (\.\S+)\n\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", re.M)


def map_sizes(text: str, source: str) -> tuple[dict[str, int], dict[str, int]]:
    """Flash and RAM bytes by origin ("source", "libraries", "harness") from a GNU ld map."""
    text = text[text.index("Linker script and memory map") :]
    flash = {"source": 0, "libraries": 0, "harness": 0}
    ram = dict(flash)
    for m in [*SECTION.finditer(text), *SPLIT.finditer(text)]:
        section, address, size, obj = (
            m.group(1),
            int(m.group(2), 16),
            int(m.group(3), 16),
            m.group(4),
        )
        if not size or not address:
            continue
        origin = (
            "source"
            if source.removesuffix(".c") in obj
            else "libraries"
            if ".a(" in obj
            else "harness"
        )
        if section.startswith((".text", ".rodata")):
            flash[origin] += size
        elif section.startswith(".data"):
            flash[origin] += size
            ram[origin] += size
        elif section.startswith((".bss", "COMMON")):
            ram[origin] += size
    return flash, ram


def run(b: Build, target: Target | None) -> str:
    """What the harness printed: on QEMU's board for target (one instruction per nanosecond of
    its clock, -icount shift=0), or here."""
    if target is None:
        return _run([str(b.elf)], "the harness on this machine")
    cmd = ["qemu-system-arm", "-M", target.machine, "-nographic", "-monitor", "none"]
    cmd += ["-serial", "none", "-semihosting-config", "enable=on,target=native"]
    cmd += ["-icount", "shift=0", "-kernel", str(b.elf)]
    out = _run(cmd, f"qemu-system-arm -M {target.machine}", QEMU_TIMEOUT_S)
    if "end" not in out.split():
        raise UserError(f"the harness did not finish on {target.core}: {out[-300:]!r}")
    return out
