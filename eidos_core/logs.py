"""The JSON log line both eidosd and ``eidos-cli --log-json`` write: one object a line, in the
reference's keys, so a log pipeline written for it reads ours.

``time`` is RFC 3339 in UTC to the microsecond; ``level`` is DEBUG, INFO, WARN or ERROR (the
reference's spelling of warning); ``msg`` the message; ``module`` the program and ``version``
its version on every line; ``logger`` the Python logger (``eidosd.access`` for access lines);
then the record's ``extra`` fields.

Needs python-json-logger, which eidosd and eidos-cli install; the agent neither imports this
module nor installs it (eidos-core's own requirements stay ruamel.yaml alone).
"""

from __future__ import annotations

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
            timestamp="time",
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        level = log_data.get("level")
        if isinstance(level, str):
            log_data["level"] = _LEVELS.get(level, level)
        return log_data
