"""eidosd: the Eidos API server (aiohttp). ``app`` builds the application, ``settings`` reads
the environment once, ``recipes`` holds the current recipe store and its response cache."""

from eidos_core import __version__

SERVICE_NAME = "eidosd"

__all__ = ["SERVICE_NAME", "__version__"]
