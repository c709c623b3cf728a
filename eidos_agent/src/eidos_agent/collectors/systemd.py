"""SystemD collector: ``systemctl show <unit> --no-pager`` → the ``SystemD`` measurement.

One subtype per unit, named after the unit (``containerd.service``), holding the ``Key=Value``
properties ``systemctl`` prints, as strings. A unit that is not installed still yields a subtype
(``LoadState: not-found``), as in the Go reference. The same property filter as the reference
drops identifiers and credentials (``Id``, ``BusName``, ``*Credential*``, …).

The reference asks systemd over its private D-Bus socket; we ask ``systemctl`` (the lead's choice),
so values are ``systemctl``'s text (``yes``/``no``, formatted timestamps) rather than typed D-Bus
readings. Without ``systemctl``, or on a system not booted with systemd (no ``/run/systemd/system``,
e.g. a container without the host's ``/run/systemd``), the collector is skipped with a reason and
the measurement is an empty ``SystemD`` (serialised as ``- type: SystemD``), never an exception.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from eidos_agent.collectors.base import CollectorResult, CommandError, CommandOutput, run_command
from eidos_core.snapshot.model import Measurement, Subtype

MEASUREMENT_TYPE = "SystemD"
DEFAULT_TIMEOUT = 10.0
DEFAULT_UNITS = (
    "containerd.service",
    "kubelet.service",
    "nvidia-fabricmanager.service",
    "nvidia-persistenced.service",
)
# The reference's filter: identifiers and credentials, not configuration.
DEFAULT_EXCLUDE = ("AllowedCPUs", "AllowedMemoryNodes", "Asserts", "BPFProgram", "BusName", "Id", "*Credential*")
# sd_booted(3): this directory exists only when systemd is PID 1 (of the node, when /run/systemd
# is the host's, mounted into the pod).
BOOTED_MARKER = Path("/run/systemd/system")
# A unit name as systemd accepts it; a leading "-" would be read as an option by systemctl.
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\@-]{1,255}")


def parse_show(text: str, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> dict[str, str]:
    """``systemctl show`` output: ``Key=Value`` lines split at the first ``=``; lines without one are
    ignored; keys matching an ``exclude`` glob are dropped. A repeated key keeps its last value."""
    patterns = tuple(exclude)
    properties: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or any(fnmatchcase(key, pattern) for pattern in patterns):
            continue
        properties[key] = value
    return properties


def check_unit_name(unit: str) -> str:
    if unit.startswith("-") or not _UNIT_NAME.fullmatch(unit):
        raise ValueError(f"not a systemd unit name: {unit!r}")
    return unit


@dataclass(slots=True)
class SystemdCollector:
    """Asks ``systemctl`` for each unit in ``units`` (concurrently, each within ``timeout`` seconds).

    ``booted_marker`` is the directory whose absence means "not booted with systemd" (``None``
    skips that check). A unit whose query fails is left out and noted; when none succeeds the
    collector is skipped with the first failure as its reason.
    """

    units: Sequence[str] = DEFAULT_UNITS
    timeout: float = DEFAULT_TIMEOUT
    binary: str = "systemctl"
    exclude: Sequence[str] = DEFAULT_EXCLUDE
    booted_marker: Path | None = field(default_factory=lambda: BOOTED_MARKER)
    name: str = "systemd"

    def __post_init__(self) -> None:
        self.units = tuple(check_unit_name(unit) for unit in self.units)

    async def collect(self) -> CollectorResult:
        path = shutil.which(self.binary)
        if path is None:
            return self._skip(f"{self.binary} not found on PATH")
        if self.booted_marker is not None and not self.booted_marker.is_dir():
            return self._skip(f"not booted with systemd ({self.booted_marker} is missing)")
        if not self.units:
            return CollectorResult(self.name, Measurement(MEASUREMENT_TYPE))
        # systemctl talks to systemd directly; a fixed locale and no colours keep its text stable.
        env = {**os.environ, "LC_ALL": "C", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
        answers = await asyncio.gather(*(self._show(path, unit, env) for unit in self.units))
        subtypes: list[Subtype] = []
        failures: list[str] = []
        for unit, answer in zip(self.units, answers, strict=True):
            if isinstance(answer, str):
                failures.append(answer)
            else:
                subtypes.append(Subtype(unit, parse_show(answer.stdout.decode("utf-8", "replace"), self.exclude)))
        if not subtypes:
            # Usually one cause for all (no bus, no permission): say it once.
            causes = {failure.partition(": ")[2] for failure in failures}
            if len(causes) == 1:
                return self._skip(f"{causes.pop()} (for all {len(failures)} units)")
            return self._skip(failures[0], notes=tuple(failures[1:]))
        return CollectorResult(self.name, Measurement(MEASUREMENT_TYPE, tuple(subtypes)), notes=tuple(failures))

    async def _show(self, path: str, unit: str, env: dict[str, str]) -> CommandOutput | str:
        """The command's output, or why it failed (as text, for a note)."""
        try:
            out = await run_command([path, "show", unit, "--no-pager"], time_limit=self.timeout, env=env)
        except CommandError as exc:
            return f"{unit}: {exc}"
        if out.returncode != 0:
            detail = out.complaint()
            return f"{unit}: {self.binary} exited with status {out.returncode}" + (f": {detail}" if detail else "")
        return out

    def _skip(self, reason: str, notes: tuple[str, ...] = ()) -> CollectorResult:
        return CollectorResult(self.name, Measurement(MEASUREMENT_TYPE), skipped_reason=reason, notes=notes)
