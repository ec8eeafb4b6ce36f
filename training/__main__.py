"""CLI: `python -m training [options]` trains one model; `python -m training compare` a grid."""

from __future__ import annotations

from runtime.cli.args import ArgumentParser, run_cli

from .cli import add_dataclass_options, from_args
from .config import TrainConfig
from .data import checked_series


def main() -> None:
    """Parse options and train (or compare)."""
    parser = ArgumentParser(
        prog="python -m training",
        description="Train a recurrent forecaster and write model.keras, model.json, "
        "windows.npz, history.png and predictions.png into --out.",
        epilog="`python -m training compare [options]` trains a grid of cell x units x layers "
        "on the same data and writes compare.md and compare.png.",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["train", "compare"],
        default="train",
        help="train one model (default) or compare a grid",
    )
    add_dataclass_options(parser, TrainConfig)
    args = parser.parse_args()
    cfg = from_args(TrainConfig, args)
    series = checked_series(cfg)  # bad data is answered before TensorFlow's import
    if args.command == "compare":
        from .compare import compare

        compare(cfg, series=series)
    else:
        from .train import train

        train(cfg, series=series)


if __name__ == "__main__":
    run_cli(main)
