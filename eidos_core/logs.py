"""The JSON log line both eidosd and ``eidos-cli --log-json`` write: one object a line, in the
reference's keys, so a log pipeline written for it reads ours.

``time`` first, RFC 3339 in UTC to the microsecond (``2026-12-06T15:02:32.123456Z``, the form
eidosd's error bodies use); ``level`` DEBUG, INFO, WARN or ERROR (the reference's spelling of
warning); ``msg`` the message; ``logger`` the Python logger (``eidosd.access`` for access
lines); ``module`` the program and ``version`` its version on every line; then the record's
``extra`` fields.

Needs python-json-logger, which eidosd and eidos-cli install; the agent neither imports this
module nor installs it (eidos-core's own requirements stay ruamel.yaml alone).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from eidos_core import __version__

# Python's level names that the reference spells differently.
_LEVELS = {"WARNING": "WARN", "CRITICAL": "ERROR"}


class JsonLines(JsonFormatter):
    """The formatter; ``module`` names the program on every line ("eidosd", "eidos")."""

    def __init__(self, module: str) -> None:
        super().__init__(
            "{levelname}{message}{name}",
            style="{",
            rename_fields={"levelname": "level", "message": "msg", "name": "logger"},
            static_fields={"module": module, "version": __version__},
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        # Set before the rest so that it is the line's first key. isoformat() alone would drop
        # the fraction when it is zero.
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds")
        log_data["time"] = stamp.replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = _LEVELS.get(record.levelname, record.levelname)
