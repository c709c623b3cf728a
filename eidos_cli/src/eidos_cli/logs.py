"""CLI logging: always stderr, never stdout (stdout carries documents).

Three modes, chosen once at start-up: ``--log-json`` (one JSON object a line), ``--debug``
(``key=value`` text with source locations), and the default human mode ``[cli] message: k=v``,
coloured red/green only when stderr is a terminal.

A command's failure (:func:`command_error`) is not a log line but the CLI's answer, so it reads
like argparse's usage errors, ``eidos-cli COMMAND: error: …``; with ``--log-json`` it stays a
JSON record, so a log pipeline still gets one object a line.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from eidos_core import __version__

# LogRecord attributes that are not user-supplied ``extra`` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class HumanFormatter(logging.Formatter):
    def __init__(self, prefix: str, colour: bool) -> None:
        super().__init__()
        self.prefix = prefix
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        line = f"[{self.prefix}] {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += ": " + " ".join(f"{k}={v}" for k, v in extras.items())
        if not self.colour:
            return line
        code = "31" if record.levelno >= logging.ERROR else "32"
        return f"\033[{code}m{line}\033[0m"


class DebugFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"time={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}",
            f"level={record.levelname}",
            f"source={record.filename}:{record.lineno}",
            f"msg={record.getMessage()!r}",
            "module=eidos",
            f"version={__version__}",
        ]
        parts += [f"{k}={v}" for k, v in _extras(record).items()]
        line = " ".join(parts)
        if record.exc_info:  # --debug promises the trace behind an internal error
            line += "\n" + self.formatException(record.exc_info)
        return line


def command_error(prog: str, message: str, *, json_logs: bool, trace: bool = False) -> None:
    """Report a failed command; ``trace`` adds the traceback of the exception being handled."""
    if json_logs:
        logging.getLogger("eidos_cli").error(
            "command failed", extra={"command": prog, "error": message}, exc_info=trace
        )
        return
    if trace:  # --debug: the trace first, so the error stays the last line
        logging.getLogger("eidos_cli").debug("internal error", exc_info=True)
    line = f"{prog}: error: {message}"
    if sys.stderr.isatty():
        line = f"\033[31m{line}\033[0m"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def setup(*, debug: bool, json_logs: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        from eidos_core.logs import JsonLines

        handler.setFormatter(JsonLines("eidos"))
    elif debug:
        handler.setFormatter(DebugFormatter())
    else:
        prefix = os.environ.get("EIDOS_LOG_PREFIX") or os.environ.get("Eidos_LOG_PREFIX") or "cli"  # noqa: SIM112 - the reference's spelling
        handler.setFormatter(HumanFormatter(prefix, colour=sys.stderr.isatty()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # The Kubernetes client logs every request at DEBUG; keep it for --debug only.
    # (It also warns about a missing ~/.kube/config that our own error message already explains.)
    for noisy in ("kubernetes_asyncio", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.ERROR)
