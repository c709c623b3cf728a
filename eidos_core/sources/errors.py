"""Turning whatever went wrong while loading new data into a reload error event."""

from __future__ import annotations

from eidos_core.errors import EidosError


def reload_error(description: str, exc: Exception) -> EidosError:
    """``exc`` as the :class:`EidosError` an update stream yields (the consumer counts it and
    keeps its last good data). An exception that is not an ``EidosError`` is a bug or an input
    no check caught: it stays attached as ``__cause__`` so the consumer can log its trace."""
    if isinstance(exc, EidosError):
        return exc
    err = EidosError(f"{description}: {type(exc).__name__}: {exc}"[:1000])
    err.__cause__ = exc
    return err
