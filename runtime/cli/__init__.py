"""The command line, `python -m runtime` (installed: `edge-forecast`): one module per command,
each with its parser (`add`) and what it runs (`run`), on the runtime's public API."""

from __future__ import annotations

import sys
from pathlib import Path

from . import info, serve, stream, verify
from .args import ArgumentParser, run_cli

COMMANDS = (stream, serve, verify, info)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a command."""
    parser = ArgumentParser(
        # the console script's name when installed, what was typed when run from the sources
        prog="edge-forecast" if Path(sys.argv[0]).name == "edge-forecast" else "python -m runtime",
        description="Run exported forecasters on a device: numpy and one interpreter "
        "(ai-edge-litert, tflite-runtime or onnxruntime) or none, no TensorFlow.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    args = parser.parse_args(argv)
    return args.run(args)


def cli() -> None:
    """The console script `edge-forecast` (pyproject.toml)."""
    run_cli(main)
