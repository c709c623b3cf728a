"""``run_command``: output is capped while it is read, so a runaway tool cannot grow the agent's memory."""

from __future__ import annotations

import os
import shutil
import sys
import tracemalloc
from pathlib import Path

import pytest

from eidos_agent.collectors.base import MAX_STDERR, CommandError, run_command

MIB = 1024 * 1024
ENDLESS = "import os, sys\nopen(sys.argv[1], 'w').write(str(os.getpid()))\nwhile True:\n    print('x' * 1000)\n"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0): look at its state
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z"


async def test_endless_output_is_stopped_at_the_cap_with_bounded_memory(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    tracemalloc.start()
    try:
        with pytest.raises(CommandError, match=r"^python3?[\d.]* wrote more than 1048576 bytes; stopped it$"):
            # 60 s: only a broken cap would get anywhere near it (the error would then say "did not finish")
            await run_command([sys.executable, "-c", ENDLESS, str(pid_file)], time_limit=60, max_output=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, f"reading used {peak} bytes for a 1 MiB cap"
    assert gone(int(pid_file.read_text())), "the runaway child must be killed"


@pytest.mark.skipif(shutil.which("yes") is None, reason="no yes(1) here")
async def test_yes_is_stopped_at_the_cap() -> None:
    with pytest.raises(CommandError, match="yes wrote more than 65536 bytes; stopped it"):
        await run_command(["yes"], time_limit=60, max_output=64 * 1024)


async def test_output_up_to_the_cap_and_the_head_of_stderr_are_returned() -> None:
    script = "import sys\nsys.stdout.write('o' * 4096)\nsys.stderr.write('e' * (1024 * 1024))\nsys.exit(3)\n"
    out = await run_command([sys.executable, "-c", script], time_limit=60, max_output=4096)
    assert out.returncode == 3
    assert out.stdout == b"o" * 4096
    assert out.stderr == b"e" * MAX_STDERR, "stderr keeps its head and is drained, never blocking the child"


async def test_a_command_past_its_time_limit_is_killed() -> None:
    with pytest.raises(CommandError, match="did not finish within 0.5 s"):
        await run_command([sys.executable, "-c", "import time; time.sleep(30)"], time_limit=0.5)


async def test_a_missing_command_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot run .*nope"):
        await run_command([str(tmp_path / "nope")], time_limit=5)
