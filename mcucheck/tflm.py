"""TensorFlow Lite Micro beside the generated C: `python -m mcucheck --tflm DIR` builds TFLM with
CMSIS-NN's kernels for each target, runs the project's int8 step file through it in the same
harness (harness.c, its ef_step from tflm_step.cc) on the same QEMU board, and measures it as the
C sources are measured.

DIR holds the sources side by side, as fetched from GitHub (this machine's package mirrors have
none of them): tflite-micro, CMSIS-NN, CMSIS_6 (its Core headers), gemmlowp and ruy (headers),
and flatbuffers checked out at the tag TFLM's schema was generated with (v25.9.23) and patched
with tflite-micro's tensorflow/lite/micro/tools/make/flatbuffers.patch.
"""

from __future__ import annotations

import json
from pathlib import Path

from runtime.errors import UserError
from runtime.parity import REFERENCE, Reference, compare

from .build import HARNESS, Build, _run, data_header, parse, run
from .targets import Target, linker_script

STEP_FILE = "step_int8.tflite"
ADAPTER = Path(__file__).resolve().parent / "tflm_step.cc"
ARENA_BYTES = 4096  # the tensor arena: the default model's step file uses 2,780 of it
DIRS = ("tflite-micro", "CMSIS-NN", "CMSIS_6", "flatbuffers", "gemmlowp", "ruy")
LITE = "tflite-micro/tensorflow/lite"
MLIR = "tflite-micro/tensorflow/compiler/mlir/lite"
# TFLM's interpreter and the kernels of the step file's eight operators (CMSIS-NN's where TFLM
# has them); tests, mocks and the timer that needs a device header left out
KERNELS = (
    *("kernel_util", "quantize", "quantize_common", "concatenation", "split", "logistic"),
    *("logistic_common", "tanh", "fully_connected_common", "mul_common", "add_common"),
)
SKIP = ("_test", "fake_micro_context", "mock_micro_graph", "test_helper", "recording_micro")
SKIP += ("hexdump", "debug_log")
DEFINES = ("-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_MCU_DEBUG_LOG", "-DCMSIS_NN")
DEFINES += ("-DTF_LITE_DISABLE_X86_NEON", "-DFLATBUFFERS_LOCALE_INDEPENDENT=0")
OPT = ("-O2", "-ffunction-sections", "-fdata-sections")
CXX = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics")
CXX += ("-fno-unwind-tables", "-Wno-deprecated-declarations")


def sources(root: Path) -> list[Path]:
    """TFLM's C++ and CMSIS-NN's C files the step file needs."""
    missing = [d for d in DIRS if not (root / d).is_dir()]
    if missing:
        raise UserError(f"{root} lacks {', '.join(missing)}: see mcucheck/tflm.py")
    micro = root / LITE / "micro"
    cc = [p for p in sorted(micro.glob("*.cc")) if not any(s in p.name for s in SKIP)]
    for sub in ("arena_allocator", "memory_planner", "tflite_bridge"):
        cc += [p for p in sorted((micro / sub).glob("*.cc")) if "_test" not in p.name]
    cc += [micro / "cortex_m_generic/debug_log.cc"]
    cc += [micro / "kernels" / f"{k}.cc" for k in KERNELS]
    cc += [micro / "kernels/cmsis_nn" / f"{k}.cc" for k in ("fully_connected", "mul", "add")]
    lite = root / LITE
    cc += [lite / "core/c/common.cc", lite / "core/api/flatbuffer_conversions.cc"]
    cc += [lite / "core/api/tensor_utils.cc", lite / "kernels/kernel_util.cc"]
    cc += [lite / "kernels/internal" / f"{k}.cc" for k in ("common", "quantization_util")]
    cc += [lite / "kernels/internal" / f"{k}.cc" for k in ("runtime_shape", "tensor_ctypes")]
    cc += [root / MLIR / "schema/schema_utils.cc", root / MLIR / "core/api/error_reporter.cc"]
    nn = [p for p in sorted((root / "CMSIS-NN/Source").rglob("*.c")) if "_f" not in p.stem[-4:]]
    return cc + nn


def headers(artifacts: Path) -> dict[str, str]:
    """The adapter's headers: forecaster.h (what the harness calls), tflm_model_sizes.h (the
    state's sizes, the tensors' order, the arena) and tflm_model.h (the step file's bytes)."""
    manifest = json.loads((artifacts / "manifest.json").read_text())
    entry = next(f for f in manifest["files"] if f["file"] == STEP_FILE)
    step = entry["step"]
    units = step["state_sizes"][0]
    if step["state_names"] != ["h0", "c0"]:
        raise UserError("the TFLM harness runs the step file of a one-layer LSTM only")
    (x, h, c), (y, h_out, c_out) = step["inputs"], step["outputs"]
    data = (artifacts / STEP_FILE).read_bytes()
    sizes = {
        "EF_WINDOW": manifest["model"]["window"], "EF_STATE_SIZE": 2 * units,
        "EF_HORIZON": manifest["model"].get("horizon", 1),
        "TFLM_UNITS": units, "TFLM_ARENA_BYTES": ARENA_BYTES,
        "TFLM_IN_X": x, "TFLM_IN_H": h, "TFLM_IN_C": c,
        "TFLM_OUT_Y": y, "TFLM_OUT_H": h_out, "TFLM_OUT_C": c_out,
    }  # fmt: skip
    return {
        "forecaster.h": FORECASTER_H,
        "tflm_model_sizes.h": "".join(f"#define {k} {v}\n" for k, v in sizes.items()),
        "tflm_model.h": '#include "tflm_model_sizes.h"\n'
        f"alignas(16) static const unsigned char tflm_model[{len(data)}] = {{"
        + ",".join(map(str, data))
        + "};\n",
    }


FORECASTER_H = """\
/* The harness's view of the TFLM step model: the generated forecaster's ef_step */
#include "tflm_model_sizes.h"
#ifdef __cplusplus
extern "C" {
#endif
void ef_step(float state[EF_STATE_SIZE], float x, float y[EF_HORIZON]);
#ifdef __cplusplus
}
#endif
"""
STUB = """\
#include <stdint.h>
#include "forecaster.h"
uint32_t tflm_arena_used;
void ef_step(float s[EF_STATE_SIZE], float x, float y[EF_HORIZON]) { (void)s; y[0] = x; }
"""


def build(root: Path, artifacts: Path, target: Target, work: Path) -> tuple[Path, int, int]:
    """The harness with TFLM's ef_step for `target`, and the flash and static RAM that TFLM and
    the model add to it (against the same harness with an ef_step that returns its input)."""
    inc = work / "tflm-include"
    inc.mkdir(parents=True, exist_ok=True)
    for name, text in {**headers(artifacts), "mcu_data.h": data_header(artifacts)}.items():
        (inc / name).write_text(text)
    (inc / "stub.c").write_text(STUB)
    paths = ("tflite-micro", "flatbuffers/include", "gemmlowp", "ruy", "CMSIS-NN/Include")
    paths += ("CMSIS-NN", "CMSIS_6/CMSIS/Core/Include")
    flags = [*target.cflags, *DEFINES, *OPT, "-I", str(inc), *(f"-I{root / p}" for p in paths)]
    objects = work / f"tflm-{target.name}"
    objects.mkdir(exist_ok=True)
    built = []
    for src in sources(root):
        built.append(objects / (str(src.relative_to(root)).replace("/", "_") + ".o"))
        cc = (
            ["arm-none-eabi-g++", *CXX]
            if src.suffix == ".cc"
            else ["arm-none-eabi-gcc", "-std=c99"]
        )
        if not built[-1].is_file():  # compiled once per target in a run
            _run([*cc, *flags, "-c", "-o", str(built[-1]), str(src)], f"compiling {src.name}")
    own = {
        "harness": ["arm-none-eabi-gcc", "-std=c99", "-DEF_TFLM", *flags, str(HARNESS)],
        "adapter": ["arm-none-eabi-g++", *CXX, *flags, str(ADAPTER)],
        "stub": ["arm-none-eabi-gcc", "-std=c99", *flags, str(inc / "stub.c")],
    }
    for name, cmd in own.items():
        _run([*cmd, "-c", "-o", str(objects / f"{name}.o")], f"compiling the TFLM {name}")
    (objects / "board.ld").write_text(linker_script(target))
    link = ["arm-none-eabi-g++", *target.cflags, "-nostartfiles", "--specs=nosys.specs"]
    link += ["-T", str(objects / "board.ld"), "-Wl,--defsym=end=_ebss", "-Wl,--gc-sections"]
    elf, stub = objects / "tflm.elf", objects / "stub.elf"
    harness = str(objects / "harness.o")
    _run([*link, "-o", str(elf), harness, str(objects / "adapter.o"), *map(str, built), "-lm"],
         "linking TFLM")  # fmt: skip
    _run([*link, "-o", str(stub), harness, str(objects / "stub.o"), "-lm"], "linking the stub")
    (text, data, bss), (text0, data0, bss0) = (size(p) for p in (elf, stub))
    return elf, text + data - text0 - data0, data + bss - data0 - bss0


def size(elf: Path) -> tuple[int, int, int]:
    """text, data and bss of a linked image."""
    line = _run(["arm-none-eabi-size", str(elf)], "arm-none-eabi-size").splitlines()[1]
    return tuple(int(v) for v in line.split()[:3])


def check(root: Path, artifacts: Path, target: Target, work: Path) -> dict:
    """TFLM on one target: what it costs, and its forecasts against Keras's, as check() gives
    them for a C source (no host build to compare with: TFLM is built for the board alone)."""
    entry = next(
        f for f in json.loads((artifacts / "manifest.json").read_text())["files"]
        if f["file"] == STEP_FILE
    )  # fmt: skip
    elf, flash, ram = build(root, artifacts, target, work)
    mcu = parse(run(Build(elf, {}, {}), target))
    ref = Reference.load(artifacts / REFERENCE)
    tolerance = entry["parity"]["tolerance"]
    parity = compare(
        mcu["step"], ref.stream, tolerance, ref.stream_held, (mcu["stress"], ref.stress_step)
    )
    per_tick = mcu["calibration_instructions"] / mcu["calibration_ticks"]
    return {
        "source": f"TFLM + CMSIS-NN: {STEP_FILE}",
        "target": target.core,
        "machine": target.machine,
        "flash_source": flash,  # the interpreter, its kernels, the model, what they pull in
        "flash_libraries": 0,
        "ram_libraries": 0,
        "stream_bytes": ram,  # static: the arena (its size, not what it uses), the interpreter
        "arena_used": mcu["arena_bytes"],
        "stack_bytes": mcu["stack_bytes"],
        "instructions_step": mcu["step_ticks"] * per_tick / mcu["steps"],
        "instructions_push": None,
        "max_dev": max(parity.max_abs, parity.stress_max_abs),
        "tolerance": tolerance,
        "passed": parity.passed,
        "apart_from_here": None,
        "push_apart": None,
        "score_apart": None,
    }
