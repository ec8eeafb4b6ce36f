"""The one exception type whose message is meant for the user, and the CLI wrapper that shows it."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import NoReturn


class UserError(Exception):
    """Something the user can fix: the message says what was wrong and what to do."""


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
        print(f"error: {e}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def positive(kind: type) -> Callable[[str], float]:
    """An argparse type: a number of `kind` above zero, or a one-line error saying so."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
