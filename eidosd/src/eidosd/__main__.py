"""``eidosd`` / ``python -m eidosd``: read settings, serve until SIGTERM/SIGINT, exit 0."""

from __future__ import annotations

import asyncio
import sys

from eidos_core.errors import EidosError
from eidosd.app import create_app
from eidosd.logs import configure_logging
from eidosd.server import serve
from eidosd.settings import load_settings


def main() -> int:
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
