"""The C forecaster as a library folder a firmware project drops in: `python -m export
--c-library DIR [--c-precision float32|int8|integer]`.

The folder holds the exported, gated C files of one precision in src/ (copied as the manifest
lists them, sha256 checked), an example, a README with the API, and the manifests of the common
build systems: an Arduino library (library.properties, src/, examples/stream/stream.ino), a
PlatformIO library (library.json) and a CMake target (CMakeLists.txt: `edge_forecaster`, and on
the host the example that streams stdin, examples/c/stream.c of this repository, in extras/).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from runtime.errors import UserError
from runtime.files import replacing
from runtime.manifest import find_entry, read_manifest, verify

NAME = "EdgeForecaster"  # the Arduino and PlatformIO name
TARGET = "edge_forecaster"  # the CMake target
VERSION = "1.0.0"
PRECISIONS = ("float32", "int8", "integer")
EXAMPLES = Path(__file__).parent / "csrc" / "examples"
HOST_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "c" / "stream.c"


def write_library(artifacts: Path, out: Path, precision: str = "float32") -> list[str]:
    """Write the library folder `out` from the C file of `precision` in artifacts/; the files
    written, relative to `out`. A folder that is not an earlier library is left alone."""
    info = gated_file(artifacts, precision)
    if out.exists() and any(out.iterdir()) and not (out / "library.properties").is_file():
        raise UserError(f"{out} exists and is not a library folder: name a new or empty one")
    integer = precision == "integer"
    sources = [artifacts / info["file"], *(artifacts / i["file"] for i in info["includes"])]
    with replacing(out, folder=True) as tmp:
        (tmp / "src").mkdir()
        for path in sources:
            shutil.copyfile(path, tmp / "src" / path.name)
        sketch = tmp / "examples" / "stream" / "stream.ino"
        sketch.parent.mkdir(parents=True)
        shutil.copyfile(EXAMPLES / ("stream_integer.ino" if integer else "stream.ino"), sketch)
        if not integer:  # the host example speaks the float API; extras/: not a sketch's
            (tmp / "extras").mkdir()
            shutil.copyfile(HOST_EXAMPLE, tmp / "extras" / "stream.c")
        header = "forecaster_integer.h" if integer else "forecaster.h"
        about = about_text(read_manifest(artifacts)["model"], info)
        (tmp / "library.properties").write_text(arduino_properties(header, about))
        (tmp / "library.json").write_text(platformio_json(about))
        (tmp / "CMakeLists.txt").write_text(cmake_lists(Path(info["file"]).name, integer))
        (tmp / "README.md").write_text(readme(header, about, precision, info))
        written = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    return written


def gated_file(artifacts: Path, precision: str) -> dict:
    """The manifest's entry of the C file of `precision`, checked: it passed its parity bound
    and it and its headers are the bytes the manifest lists."""
    if precision not in PRECISIONS:
        raise UserError(f"unknown C precision {precision!r}: choose {', '.join(PRECISIONS)}")
    files = read_manifest(artifacts)["files"]
    info = next((f for f in files if f["variant"] == f"c_{precision}"), None)
    if info is None or "includes" not in info:
        raise UserError(
            f"{artifacts}/manifest.json has no c_{precision} file from this export: run "
            "`python -m export` with a C compiler installed"
        )
    if not info["parity"]["passed"]:
        raise UserError(f"{info['file']} missed its parity bound: the library is not written")
    verify(find_entry(artifacts / info["file"]))
    return info


def about_text(model: dict, info: dict) -> str:
    """One sentence on the model and the file."""
    return (
        f"{model['cell'].upper()} x{model['layers']} ({model['units']} units), window "
        f"{model['window']}: {info['about'].split(': ', 1)[-1].split(';')[0]}"
    )


def arduino_properties(header: str, about: str) -> str:
    return (
        f"name={NAME}\nversion={VERSION}\nauthor=python -m export\nmaintainer=python -m export\n"
        f"sentence=A recurrent forecaster with an anomaly score, exported from Keras.\n"
        f"paragraph={about}.\ncategory=Data Processing\nurl=\narchitectures=*\n"
        f"includes={header}\n"
    )


def platformio_json(about: str) -> str:
    data = {
        "name": NAME,
        "version": VERSION,
        "description": f"A recurrent forecaster and anomaly score from Keras: {about}",
        "keywords": ["forecasting", "anomaly-detection", "lstm", "gru", "tinyml"],
        "frameworks": "*",
        "platforms": "*",
        "build": {"srcDir": "src", "includeDir": "src"},
        "examples": [{"name": "stream", "base": "examples/stream", "files": ["stream.ino"]}],
    }
    return json.dumps(data, indent=2) + "\n"


def cmake_lists(source: str, integer: bool) -> str:
    example = (
        ""
        if integer
        else f"""
# On the host, the example that streams numbers on stdin (the columns of `edge-forecast stream`)
if(CMAKE_PROJECT_NAME STREQUAL PROJECT_NAME AND NOT CMAKE_CROSSCOMPILING)
  add_executable({TARGET}_stream extras/stream.c)
  target_link_libraries({TARGET}_stream PRIVATE {TARGET})
endif()
"""
    )
    libm = (
        ""
        if integer
        else f"\nif(LIBM)\n  target_link_libraries({TARGET} PUBLIC ${{LIBM}})\nendif()"
    )
    return f"""\
cmake_minimum_required(VERSION 3.13)
project({TARGET} C)

# ISO C99, not GNU C: no contraction of a * b + c into one rounding, as the gate measured it
add_library({TARGET} STATIC src/{source})
target_include_directories({TARGET} PUBLIC src)
set_target_properties({TARGET} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
find_library(LIBM m){libm}
{example}"""


def readme(header: str, about: str, precision: str, info: dict) -> str:
    """The library's README: what it is, the API in ten lines, how to add it."""
    if precision == "integer":
        api = f"""\
#include "{header}"            /* int8 weights, int16 fixed point: no float anywhere */
static int16_t state[EFI_STATE_SIZE]; /* all zero to start */
int16_t x = ...;                /* (sample - center) / scale * 2^EFI_X_BITS (model.json) */
int16_t y[EFI_HORIZON];
efi_step(state, x, y);          /* y[0]: the next input's forecast, same units */"""
    else:
        api = f"""\
#include "{header}"
ef_stream s; /* the state and the score's running values: {info["ram_bytes"]} bytes */
float forecast[EF_HORIZON]; /* the next EF_HORIZON samples' */
ef_reset(&s);
for (;;) {{
    float sample = read_sensor(); /* data units, as the model was trained on */
    if (ef_push(&s, sample, forecast)) /* 1 once EF_HISTORY samples are in */
        use(forecast[0], s.score, s.anomaly); /* the next sample's forecast; this one's score */
}}"""
    return f"""\
# {NAME}

{about}. Written by `python -m export --c-library`, from files that passed the export's parity
gate against the Keras model ({precision}: max deviation {info["parity"]["max_abs"]:.1e} in model
units, bound {info["parity"]["tolerance"]:.0e}). C99, no allocation, no dependency beyond
{"`<stdint.h>`" if precision == "integer" else "`<math.h>`"}.

```c
{api}
```

- **Arduino**: copy this folder into your `libraries/` folder (or Sketch > Include Library >
  Add .ZIP Library); File > Examples > {NAME} > stream.
- **PlatformIO**: `lib_deps = file:///path/to/this/folder` (or copy it into `lib/`).
- **CMake**: `add_subdirectory(this/folder)`, then `target_link_libraries(app PRIVATE
  {TARGET})`; built on its own it also builds the example that streams stdin.

`src/` holds the model's generated file{"s" if precision != "integer" else ""} and the fixed C
they include; a new export of the model gives new ones: write the library again.
"""
