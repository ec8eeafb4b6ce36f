"""Build the harness with one generated C source, for a target or for this machine, and run it."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.c import source_name
from export.c_text import float_literal
from runtime.backends import TensorInfo
from runtime.compiler import compiler
from runtime.errors import UserError
from runtime.forecaster import quantize
from runtime.parity import REFERENCE, Reference
from runtime.windows import per_output

from .targets import Target, linker_script

HARNESS = Path(__file__).resolve().parent / "harness.c"
OPT = ("-std=c99", "-O2", "-ffunction-sections", "-fdata-sections", "-fno-math-errno")
SAMPLES = 1000  # ef_push over the model's first samples, data units
Q12 = TensorInfo("x", (-1, 1), "int16", 2.0**-12)  # the integer source's input (EFI_X_BITS)
# What a software-float library provides (ARM's run-time ABI and libgcc's names): none of these
# may be called by the integer source
SOFT_FLOAT = re.compile(r"\b__aeabi_(?:[fd]\w+|\w*2[fd])\b|\b__\w*[sd]f\w*\b")
QEMU_TIMEOUT_S = 600


@dataclass
class Build:
    """A linked harness and what its parts cost in bytes: the source as a whole (its object),
    the libraries and the harness as linked (the linker's map)."""

    elf: Path
    flash: dict[str, int]  # text + rodata + data, by origin: the source, libraries, harness
    ram: dict[str, int]  # data + bss, by origin


def data_header(artifacts: Path, integer: bool = False) -> str:
    """MCU_SERIES and MCU_STRESS (model units, the export's reference) and MCU_SAMPLES (the
    model's own series, data units) as C arrays; for the integer source the first two in Q12,
    rounded as the runtime rounds them, and no MCU_SAMPLES."""
    ref = Reference.load(artifacts / REFERENCE)
    values = np.load(artifacts / "windows.npz")["values"][:SAMPLES]
    stress = ref.stress_x[..., 0]
    kind = "int16_t" if integer else "float"

    def text(a: np.ndarray) -> str:
        if integer:
            return ", ".join(str(v) for v in quantize(np.asarray(a), Q12).reshape(-1))
        return ", ".join(float_literal(v) for v in np.asarray(a, np.float32).reshape(-1))

    lines = [
        f"#define MCU_SERIES_LEN {len(ref.series)}",
        f"static const {kind} MCU_SERIES[] = {{{text(ref.series)}}};",
        f"#define MCU_STRESS_LEN {len(stress)}",
        f"static const {kind} MCU_STRESS[][{stress.shape[1]}] = {{{text(stress)}}};",
    ]
    if not integer:
        lines += [
            f"#define MCU_SAMPLES_LEN {len(values)}",
            f"static const float MCU_SAMPLES[] = {{{text(values)}}};",
        ]
    return "\n".join(lines) + "\n"


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


def library_archive(library: Path, target: Target, work: Path) -> Path:
    """A library folder (`python -m export --c-library`) built for `target` by its own
    CMakeLists.txt with arm-none-eabi-gcc, as a firmware project's CMake build would."""
    out = work / f"cmake-{target.name}"
    flags = " ".join((*target.cflags, *OPT))
    cmake = ["cmake", "-S", str(library), "-B", str(out), "-DCMAKE_SYSTEM_NAME=Generic"]
    cmake += ["-DCMAKE_C_COMPILER=arm-none-eabi-gcc", f"-DCMAKE_C_FLAGS={flags}"]
    _run([*cmake, "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY"], "cmake for the library")
    _run(["cmake", "--build", str(out)], "cmake --build for the library")
    return out / "libedge_forecaster.a"


def build(
    artifacts: Path,
    precision: str,
    target: Target | None,
    work: Path,
    library: Path | None = None,
) -> Build:
    """The harness with artifacts/c/forecaster_<precision>.c, for `target` (None: this machine's
    gcc), in `work`; or, with `library` (a library folder of that source), linked against the
    library as its CMakeLists.txt builds it for `target`."""
    c = library / "src" if library else artifacts / "c"
    if not (c / source_name(precision)).is_file():
        raise UserError(f"no {c / source_name(precision)}: export with a C compiler installed")
    work.mkdir(parents=True, exist_ok=True)
    integer = precision == "integer"
    (work / "mcu_data.h").write_text(data_header(artifacts, integer))
    name = target.name if target else "host"
    elf = work / f"{name}_{precision}.elf"
    srcs = [str(HARNESS), str(c / source_name(precision))]
    inc = ["-I", str(c), "-I", str(work), *(["-DEF_INTEGER"] if integer else [])]
    if target is None:
        cc = compiler()
        if cc is None:
            raise UserError("no C compiler here to build the harness with: install gcc")
        _run([cc, *OPT, *inc, "-o", str(elf), *srcs, "-lm"], cc)
        return Build(elf, {}, {})
    (work / f"{name}.ld").write_text(linker_script(target))
    objects = []
    for src in srcs[:1] if library else srcs:  # one object each: the map says whose bytes are whose
        objects.append(str(work / f"{name}_{Path(src).stem}.o"))
        _run(["arm-none-eabi-gcc", *target.cflags, *OPT, *inc, "-c", "-o", objects[-1], src],
             f"arm-none-eabi-gcc for {target.core}")  # fmt: skip
    if library:
        objects.append(str(library_archive(library, target, work)))
    _run(
        ["arm-none-eabi-gcc", *target.cflags, "-nostartfiles", "-T", str(work / f"{name}.ld"),
         f"-Wl,-Map={elf.with_suffix('.map')}", "-Wl,--gc-sections", "-o", str(elf), *objects,
         "-lm"],
        f"linking for {target.core}",
    )  # fmt: skip
    if integer:  # no float anywhere: neither object calls a software-float routine
        undefined = _run(["arm-none-eabi-nm", "-u", *objects], "arm-none-eabi-nm")
        if found := SOFT_FLOAT.search(undefined):
            raise UserError(f"the integer build calls software float: {found.group(0)}")
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


def parse(out: str, integer: bool = False) -> dict:
    """The harness's output: its counts, and each kind of result as float32 arrays (the integer
    source's Q12 int16s in model units)."""
    counts, rows = {}, {"step": [], "stress": [], "push": []}
    for line in out.splitlines():
        word, *rest = line.split()
        if word in rows:
            rows[word].append([int(h, 16) for h in rest])
        elif len(rest) == 1 and rest[0].isdigit():
            counts[word] = int(rest[0])
    if integer:
        arrays = {k: np.array(v, np.uint16).view(np.int16) * 2.0**-12 for k, v in rows.items()}
    else:
        arrays = {k: np.array(v, np.uint32).view(np.float32) for k, v in rows.items()}
    arrays["step"], arrays["stress"] = per_output(arrays["step"]), per_output(arrays["stress"])
    return counts | arrays
