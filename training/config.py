"""Training configuration: the one place defaults live; the CLI is generated from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CELLS = ("lstm", "gru")
TARGET_CHOICES = ("auto", "level", "change")
BUILTIN_DATA = ("sine", "drift", "sensor", "weather")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trained model; stored in model.json."""

    data: str = field(
        default="sine",
        metadata={
            "help": "sine | drift | sensor | weather | stocks:MSFT (AMZN, IBM, GOOG, AAPL) | CSV"
        },
    )
    column: str | None = field(default=None, metadata={"help": "CSV column to forecast"})
    rows: int | None = field(default=None, metadata={"help": "use only the first N rows"})
    window: int = field(default=50, metadata={"help": "samples per input window"})
    horizon: int = field(
        default=1, metadata={"help": "samples forecast at once: the next one, or the next H"}
    )
    target: str = field(
        default="auto",
        metadata={
            "help": "what the model forecasts: level (the next sample), change (its step from "
            "the last one: follows series that leave the training range), or auto (both "
            "trained, the lower validation MSE kept)",
            "choices": TARGET_CHOICES,
        },
    )
    test_fraction: float = field(default=0.2, metadata={"help": "last fraction held out"})
    validation_split: float = field(default=0.2, metadata={"help": "fraction of train for val"})
    cell: str = field(default="lstm", metadata={"help": "recurrent cell", "choices": CELLS})
    units: int = field(default=50, metadata={"help": "units per recurrent layer"})
    layers: int = field(default=1, metadata={"help": "stacked recurrent layers"})
    sequence_length: int = field(
        default=0,
        metadata={
            "help": "0: train on windows (the seed's set-up); N: train on every step of "
            "sequences of N samples, which makes step mode as good as window mode"
        },
    )
    epochs: int = field(default=20, metadata={"help": "training epochs"})
    stream_epochs: int = field(
        default=10,
        metadata={
            "help": "epochs tuning a copy of the model on long sequences for the step files "
            "(0: the step files use the window weights)"
        },
    )
    batch_size: int = field(default=32, metadata={"help": "minibatch size"})
    seed: int = field(default=1234, metadata={"help": "seed for weights, shuffling, data"})
    out: Path = field(default=Path("artifacts"), metadata={"help": "output folder"})

    def __post_init__(self) -> None:
        from runtime.errors import UserError

        if self.target not in TARGET_CHOICES:
            raise UserError(f"unknown target {self.target!r}: choose {', '.join(TARGET_CHOICES)}")
        if self.cell not in CELLS:
            raise UserError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELLS)}")
        for name in ("window", "horizon", "units", "layers", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if self.stream_epochs < 0:
            raise UserError("--stream-epochs must be 0 (no tuning) or more")
        if self.sequence_length < 0:
            raise UserError("--sequence-length must be 0 (windows) or a number of samples")
        if not 0 < self.test_fraction < 1 or not 0 <= self.validation_split < 1:
            raise UserError("--test-fraction must be in (0, 1) and --validation-split in [0, 1)")
