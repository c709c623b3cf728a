"""``eidosd`` / ``python -m eidosd``: read settings, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from eidos_core.errors import EidosError
from eidosd.app import create_app
from eidosd.settings import load_settings


def main() -> int:
    try:
        settings = load_settings()
    except EidosError as exc:
        print(f"eidosd: {exc.message}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
