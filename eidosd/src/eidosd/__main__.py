"""``eidosd`` / ``python -m eidosd``: parse the command line, read settings, serve until
SIGTERM/SIGINT, exit 0.

The flags are generated from settings.py's declarations (one per setting that declares one), and
so is the settings list in ``--help``; a flag's value is validated by the same parser as the
environment variable it overrides. Usage errors (an unknown argument, a flag without its value)
and bad values are one line on stderr and exit 2; ``--help`` and ``--version`` exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import itertools
import sys
from collections.abc import Sequence
from typing import NoReturn

from eidos_core import __version__
from eidos_core.errors import EidosError
from eidosd.app import create_app
from eidosd.logs import configure_logging
from eidosd.server import ListenError, serve
from eidosd.settings import flag_settings, help_text, load_settings

PROG = "eidosd"

DESCRIPTION = """eidosd: the Eidos API server (GPU cluster recipes over HTTP).

Each setting is read once at start-up: from its flag, else from its environment variable, else
its default. An empty variable is the same as an unset one; a bad value stops start-up with one
line naming the flag or variable (exit 2); a port it cannot listen on is exit 6. It serves
until SIGTERM or SIGINT, then drains and exits 0, or 1 when requests still running at
SHUTDOWN_TIMEOUT had to be cut off."""

# Requests were cut off at SHUTDOWN_TIMEOUT: a non-zero exit, as the reference's.
EXIT_CUT = 1

USAGE = "%(prog)s [--help] [--version] [--FLAG VALUE ...]"


class Parser(argparse.ArgumentParser):
    """Usage errors as one line (exit 2) pointing at ``--help`` instead of the whole usage."""

    argv: Sequence[str] = ()  # what is being parsed, for the hint below

    def error(self, message: str) -> NoReturn:
        flag = message.removeprefix("argument ").removesuffix(": expected one argument")
        if flag != message and _followed_by_dash(self.argv, flag):
            # argparse takes "-1s" in "--read-timeout -1s" for a flag; the value needs "=".
            message += f" (a value that starts with '-' is written {flag}=VALUE)"
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _followed_by_dash(argv: Sequence[str], flag: str) -> bool:
    return any(a == flag and b.startswith("-") for a, b in itertools.pairwise(argv))


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        usage=USAGE,
        description=DESCRIPTION,
        epilog=f"settings (environment variable, flag; a flag overrides its variable):\n{help_text()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # a prefix of a flag is an unknown argument, not a guess
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s version {__version__}")
    for f, flag, spec in flag_settings():
        # Listed in the epilog with its variable and default (help_text), so not again by argparse.
        parser.add_argument(flag, dest=f.name, metavar=spec.kind.metavar, help=argparse.SUPPRESS)
    return parser


def flag_names() -> list[str]:
    return ["--help", "--version", *(flag for _, flag, _ in flag_settings())]


def unknown_arguments(extra: Sequence[str]) -> str:
    """The usage error for arguments no flag took: the flag closest to the first one (``--prot``,
    ``-port`` and ``port`` all suggest ``--port``), else where the flags are listed."""
    first = extra[0].split("=", 1)[0]
    close = difflib.get_close_matches("--" + first.lstrip("-"), flag_names(), n=1)
    hint = f"did you mean {close[0]}?" if close else f"see '{PROG} --help'"
    return f"{PROG}: error: unrecognized arguments: {' '.join(extra)} ({hint})"


def parse_flags(argv: Sequence[str] | None) -> dict[str, str]:
    """The setting flags given (flag → raw value); exits on --help, --version and usage errors."""
    parser = build_parser()
    parser.argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.exit(2, unknown_arguments(extra) + "\n")
    given = vars(args)
    return {flag: given[f.name] for f, flag, _ in flag_settings() if given[f.name] is not None}


def main(argv: Sequence[str] | None = None) -> int:
    flags = parse_flags(argv)
    try:
        settings = load_settings(flags=flags)
    except EidosError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level_number)
    try:
        app = create_app(settings)
    except EidosError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return 2
    try:
        cut = asyncio.run(serve(app))
    except ListenError as exc:  # e.g. the port is taken
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 6
    return EXIT_CUT if cut else 0


if __name__ == "__main__":
    sys.exit(main())
