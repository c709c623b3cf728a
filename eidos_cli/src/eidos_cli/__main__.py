"""``eidos-cli``: parse the command line, run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys

from eidos_cli.commands import recipe
from eidos_core import __version__
from eidos_core.errors import EidosError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eidos-cli",
        description="Eidos: validated GPU cluster recipes and deployment bundles.",
    )
    parser.add_argument("--version", action="version", version=f"eidos-cli {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    recipe.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except EidosError as exc:
        print(f"eidos-cli: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return code


if __name__ == "__main__":
    sys.exit(main())
