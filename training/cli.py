"""Build argparse options from a dataclass so defaults and help live only in the dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type, skip: tuple = ()) -> None:
    """One --option per field, typed and documented from the field."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = hints[f.name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):  # `int | None` -> int
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=kind,
            default=f.default,
            choices=f.metadata.get("choices"),
            help=f"{f.metadata.get('help', '')} (default: {f.default})",
        )


def from_args(cls: type, args: argparse.Namespace, **overrides: object) -> object:
    """The dataclass instance the parsed options describe."""
    names = [f.name for f in dataclasses.fields(cls) if hasattr(args, f.name)]
    return cls(**({n: getattr(args, n) for n in names} | overrides))


def changed_options(cls: type, args: argparse.Namespace, skip: tuple = ()) -> list[str]:
    """The options given that differ from the dataclass's defaults, as command-line words."""
    words = []
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name, f.default)
        if f.name not in skip and value != f.default:
            words += [f"--{f.name.replace('_', '-')}", str(value)]
    return words
