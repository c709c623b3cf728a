"""``eidosd`` as a command, through its real console script: --version, --help, the setting
flags (they override the environment and are validated like it) and usage errors."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from eidos_core import __version__
from eidosd.settings import declared, env_names, flag_settings
from tests.conftest import mini_files
from tests.support import EIDOSD, EidosdProcess, free_port, port_refuses


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without any eidosd setting, plus ``env``."""
    names = set(env_names())
    return {**{k: v for k, v in os.environ.items() if k not in names}, **env}


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """eidosd run to its exit (a command that would serve instead fails the test by timing out)."""
    assert EIDOSD
    return subprocess.run([EIDOSD, *args], env=clean_env(**env), capture_output=True, text=True, timeout=20)


def launch(tmp_path: Path, port: int, *args: str, **env: str) -> EidosdProcess:
    """eidosd started with ``args`` and expected to listen on 127.0.0.1:``port``."""
    assert EIDOSD
    log = tmp_path / f"eidosd-{port}.log"
    return EidosdProcess([EIDOSD, *args], env=clean_env(**env), port=port, log_path=log, cwd=tmp_path)


def test_version() -> None:
    proc = run("--version", PORT="http")  # a bad setting does not matter: nothing is read
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"eidosd version {__version__}\n", "")


def test_help_lists_every_setting_with_its_flag_variable_default_and_meaning() -> None:
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    entries = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ") and line[2:3].isupper()}
    for _, spec in declared():
        for name in spec.env_names():
            assert name in entries, name
    for _, flag, spec in flag_settings():
        assert entries[spec.env] == [flag, spec.kind.metavar]
    text = " ".join(proc.stdout.split())
    for needle in ("PORT --port N TCP port to listen on [default: 8080; an integer from 1 to 65535]",
                   "RECIPE_DATA_PATH --data PATH serve this recipe data directory instead of the embedded data",
                   "EIDOS_ALLOWED_ACCELERATORS (no flag)", "--version"):  # fmt: skip
        assert needle in text, needle


def test_port_flag_listens_there_and_sigterm_stops_it(tmp_path: Path) -> None:
    port = free_port()
    with launch(tmp_path, port, "--port", str(port), "--host", "127.0.0.1", "--log-level", "warning") as server:
        server.wait_ready(path="/health")
        status, _, body = server.request("/health")
        assert status == 200 and body
        assert server.stop() == 0


def test_flag_overrides_the_environment(tmp_path: Path) -> None:
    flag_port, env_port = free_port(), free_port()
    assert flag_port != env_port
    with launch(tmp_path, flag_port, f"--port={flag_port}", PORT=str(env_port), HOST="127.0.0.1") as server:
        server.wait_ready()
        assert port_refuses(env_port)
        assert server.stop() == 0


@pytest.mark.parametrize("value", ["0x", "70000", ""])
def test_bad_port_flag_exits_2_naming_the_flag(value: str) -> None:
    proc = run("--port", value, PORT="8080")
    assert proc.returncode == 2
    assert proc.stderr == f"eidosd: --port={value!r}: must be an integer from 1 to 65535\n"


def test_bad_duration_flag_names_the_flag_not_the_variable() -> None:
    proc = run("--shutdown-delay", "soon", SHUTDOWN_DELAY="1s")
    assert proc.returncode == 2
    assert proc.stderr.startswith("eidosd: --shutdown-delay='soon': not a duration (examples: 30s, 1m30s,")
    assert len(proc.stderr.splitlines()) == 1


def test_data_flag_serves_that_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for rel, body in mini_files().items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(body)
    port = free_port()
    with launch(tmp_path, port, "--data", str(data), "--port", str(port), "--host", "127.0.0.1") as server:
        server.wait_ready()
        status, doc = server.json("/v1/recipe")
        assert status == 200
        assert [ref["name"] for ref in doc["componentRefs"]] == ["a", "b"]  # the tiny set, not the embedded one
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--prot", "8080"], "unrecognized arguments: --prot 8080 (did you mean --port?)"),
        (["--data-path=/srv"], "unrecognized arguments: --data-path=/srv (did you mean --data?)"),
        (["serve"], "unrecognized arguments: serve (see 'eidosd --help')"),
    ],
)
def test_unknown_argument_exits_2_with_a_suggestion(args: list[str], line: str) -> None:
    proc = run(*args, PORT=str(free_port()), HOST="127.0.0.1")  # were it ignored, eidosd would serve
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"eidosd: error: {line}\n")


def test_a_value_starting_with_a_dash_says_how_to_write_it() -> None:
    """argparse reads ``-1s`` in ``--read-timeout -1s`` as a flag: the message says to use ``=``,
    and with ``=`` the value reaches the setting's own parser."""
    spaced = run("--read-timeout", "-1s")
    assert spaced.returncode == 2
    assert "--read-timeout: expected one argument" in spaced.stderr
    assert "written --read-timeout=VALUE" in spaced.stderr
    joined = run("--read-timeout=-1s")
    assert joined.returncode == 2 and "--read-timeout='-1s'" in joined.stderr, joined.stderr


def test_a_taken_port_is_exit_6_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="error")
    assert done.returncode == 6, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"eidosd: cannot listen on 127.0.0.1:{port}: Address already in use"
