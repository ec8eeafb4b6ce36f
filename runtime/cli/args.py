"""What every command line of the project shares: one-line usage errors, the wrapper that turns a
UserError into `error: ...` and an exit code, the argument types, and the options that choose a
model (declared once, for `stream` and `serve`)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from ..errors import UserError
from ..interpreters import BACKENDS
from ..manifest import MODES, VARIANT_NAMES
from ..sources import ColumnError


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other error of these CLIs."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def run_cli(main: Callable[[], int | None]) -> None:
    """Run main(): a UserError becomes `error: ...` on stderr and exit 2, not a traceback."""
    try:
        code = main() or 0
    except BrokenPipeError:  # `| head` closed stdout: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except UserError as e:
        hint = " (--column NAME)" if isinstance(e, ColumnError) else ""
        print(f"error: {e}{hint}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def checked(kind: Callable[[str], float], ok: Callable[[float], bool], expected: str):
    """An argparse type: `kind(text)` when `ok` of it, else a one-line error naming `expected`."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = getattr(kind, "__name__", "value")  # argparse names the type in messages
    return parse


def positive(kind: type) -> Callable[[str], float]:
    """An argparse type: a number of `kind` above zero."""
    return checked(kind, lambda v: v > 0 and math.isfinite(v), "a number above 0")


score_threshold = checked(float, lambda v: 0 < v <= 1, "an anomaly score in (0, 1]")


def parse_tolerance(text: str) -> tuple[str, float]:
    """A --tolerance option: 'int8=0.01' -> ('int8', 0.01); 'step:int8=0.01' for a step file."""
    name, _, value = text.partition("=")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KEY=BOUND, got {text!r}") from None


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --variant, --mode, --backend and --threshold: which file runs, and when a
    sample is an anomaly (runtime.open_model's arguments)."""
    parser.add_argument(
        "--model",
        default="artifacts",
        help="a model file, or an artifacts folder with --variant (default: artifacts)",
    )
    parser.add_argument(
        "--variant",
        metavar="VARIANT",
        choices=VARIANT_NAMES,
        help=f"with a folder: {', '.join(VARIANT_NAMES)} (default: float32)",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="with a folder: window (a window per sample) or step (one cell update per "
        "sample, the state carries the history); default: the more accurate of the two for "
        "this model, measured at export (`info` shows both)",
    )
    parser.add_argument("--backend", choices=BACKENDS, help="force an interpreter")
    parser.add_argument(
        "--threshold",
        type=score_threshold,
        help="anomaly score (0 to 1] from which a sample is an anomaly (default: the "
        "manifest's, tuned on NAB)",
    )
