"""`python -m runtime`: the command line (runtime/cli/)."""

from .cli import cli

if __name__ == "__main__":
    cli()
