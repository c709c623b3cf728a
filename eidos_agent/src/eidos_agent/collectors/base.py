"""What every node collector shares: the result type, the ``Collector`` protocol, and a bounded
subprocess runner for the collectors that ask a command-line tool (``nvidia-smi``, ``systemctl``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from eidos_core.snapshot.model import Measurement

# Enough for nvidia-smi -q -x on a large node (about 25 KiB per GPU); more means something is wrong.
MAX_COMMAND_OUTPUT = 32 * 1024 * 1024
# stderr is only quoted in reasons: its head is plenty.
MAX_STDERR = 64 * 1024
_CHUNK = 64 * 1024
# Longest piece of a tool's output quoted in a reason: one readable line, not a dump.
_REASON_LENGTH = 300


@dataclass(frozen=True, slots=True)
class CollectorResult:
    """One collector's outcome.

    ``measurement`` is what goes into the snapshot (``None``: nothing to add). ``skipped_reason``
    says why the collector could not do its job (``None``: it did). ``notes`` lists smaller problems
    that left the measurement incomplete but usable (an unreadable file, a unit that timed out).
    """

    name: str
    measurement: Measurement | None
    skipped_reason: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None


class Collector(Protocol):
    """A source of one measurement. ``collect`` reports failures in its result instead of raising."""

    @property
    def name(self) -> str: ...

    async def collect(self) -> CollectorResult: ...


@dataclass(frozen=True, slots=True)
class CommandOutput:
    returncode: int
    stdout: bytes
    stderr: bytes

    def complaint(self) -> str:
        """What the tool said on failure, on one line: stderr, else stdout (nvidia-smi uses stdout)."""
        return one_line(self.stderr) or one_line(self.stdout)


def one_line(data: bytes, limit: int = _REASON_LENGTH) -> str:
    """``data`` as one short line of text, for a reason string."""
    text = " ".join(data.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


NODE_NAME_VARIABLES = ("NODE_NAME", "KUBERNETES_NODE_NAME", "HOSTNAME")


def node_name_from_env(env: Mapping[str, str] | None = None) -> str:
    """The node to describe: the first of ``NODE_NAME`` (the Job sets it from the downward API),
    ``KUBERNETES_NODE_NAME`` and ``HOSTNAME`` that is set; ``""`` when none is."""
    env = os.environ if env is None else env
    for var in NODE_NAME_VARIABLES:
        if env.get(var, "").strip():
            return env[var].strip()
    return ""


class CommandError(Exception):
    """The command could not be started, or did not finish in time; the message is the reason."""


async def run_command(
    argv: Sequence[str],
    *,
    time_limit: float,
    env: Mapping[str, str] | None = None,
    max_output: int = MAX_COMMAND_OUTPUT,
) -> CommandOutput:
    """Run ``argv`` (no shell) and return its exit status and output.

    Raises ``CommandError`` when it cannot be started, runs past ``time_limit`` seconds or writes more
    than ``max_output`` bytes to stdout. Output is read as it comes and the child is killed as soon as
    it passes the limit, so a tool that prints without end costs at most ``max_output`` of memory
    (stderr, only ever quoted in a reason, keeps its first ``MAX_STDERR`` bytes). A non-zero exit
    status is returned, not raised: what it means is the caller's business. The child gets its own
    session so that a timeout kills it together with anything it started (a wrapper script's
    ``sleep`` would otherwise keep the pipes open).
    """
    tool = os.path.basename(argv[0])
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:  # missing, not executable, bad interpreter line
        raise CommandError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.create_task(_read_head(proc.stderr, MAX_STDERR))
    try:
        async with asyncio.timeout(time_limit):
            stdout = await _read_at_most(proc.stdout, max_output)
            stderr = await stderr_task
            await proc.wait()
    except _TooMuchOutput:
        await _kill(proc)
        raise CommandError(f"{tool} wrote more than {max_output} bytes; stopped it") from None
    except TimeoutError:
        await _kill(proc)
        raise CommandError(f"{tool} did not finish within {time_limit:g} s") from None
    except BaseException:  # cancelled: never leave the child behind
        await _kill(proc)
        raise
    finally:
        stderr_task.cancel()
    assert proc.returncode is not None  # wait() waited for it
    return CommandOutput(proc.returncode, stdout, stderr)


class _TooMuchOutput(Exception):
    pass


async def _read_at_most(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Everything until EOF, or ``_TooMuchOutput`` as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _TooMuchOutput
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_head(stream: asyncio.StreamReader, limit: int) -> bytes:
    """The first ``limit`` bytes; the rest is read and dropped so the child never blocks on a full pipe."""
    head = bytearray()
    while chunk := await stream.read(_CHUNK):
        head += chunk[: max(0, limit - len(head))]
    return bytes(head)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()
