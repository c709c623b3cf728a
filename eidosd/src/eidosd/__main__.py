"""``eidosd`` / ``python -m eidosd``: read settings, serve until SIGTERM/SIGINT, exit 0.

``--help`` lists every environment variable with its default (settings.py's declarations) and
exits 0; any other argument is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from eidos_core.errors import EidosError
from eidosd.app import create_app
from eidosd.logs import configure_logging
from eidosd.server import serve
from eidosd.settings import help_text, load_settings

DESCRIPTION = """eidosd: the Eidos API server (GPU cluster recipes over HTTP).

It is configured by environment variables only, read once at start-up. An empty variable is the
same as an unset one; a bad value stops start-up with one line naming the variable (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="eidosd",
        description=DESCRIPTION,
        epilog=f"environment variables:\n{help_text()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: Sequence[str] | None = None) -> int:
    build_parser().parse_args(argv)  # --help prints and exits 0; anything else exits 2
    try:
        settings = load_settings()
    except EidosError as exc:
        print(f"eidosd: {exc.message}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level_number)
    try:
        app = create_app(settings)
    except EidosError as exc:
        print(f"eidosd: {exc.message}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(app))
    except OSError as exc:  # e.g. the port is taken
        print(f"eidosd: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 6
    return 0


if __name__ == "__main__":
    sys.exit(main())
