"""``eidos-cli recipe`` against a real eidosd process, through the console script: ``--server``
as users type it (no scheme, an endpoint URL) gives the same recipe as the base URL; what cannot
be an eidosd address is exit 2 naming ``--server``; a server that cannot be reached is one line
in our words (exit 6), one that does not answer a timeout (exit 5). And one rule for both
programs: no criteria is the base recipe, ``--nodes -3`` is refused as the server refuses it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from eidos_cli.remote import fetch_recipe
from eidos_core.errors import TimeoutExceededError, UnavailableError
from eidos_core.recipe.criteria import Criteria
from tests.support import NO_RATE_LIMIT, EidosdProcess, free_port, start_eidosd

CLI = Path(sys.executable).parent / "eidos-cli"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EidosdProcess]:
    proc = start_eidosd(tmp_path_factory.mktemp("eidosd"), LOG_LEVEL="error", **NO_RATE_LIMIT)
    yield proc
    proc.kill()


def cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip() and "no criteria given" not in line]


def test_server_urls_as_typed_give_the_same_recipe(server: EidosdProcess) -> None:
    criteria = ["--gpu", "h100", "--service", "eks", "-t", "json"]
    code, local, err = cli("recipe", *criteria)
    assert code == 0, err
    for typed in (
        server.url,
        f"127.0.0.1:{server.port}",  # no scheme
        f"localhost:{server.port}/",
        f"{server.url}/v1/recipe",  # the endpoint, copied from the docs
        f"{server.url}/v1/query",
    ):
        code, out, err = cli("recipe", *criteria, "--server", typed)
        assert code == 0, f"{typed}: {err}"
        assert json.loads(out) == json.loads(local), typed


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        (
            "ftp://127.0.0.1:8080",
            "eidosd is reached over http:// or https://, not ftp://; e.g. --server http://127.0.0.1:8080",
        ),
        ("http://local host:8080", "a URL has no blanks in it"),
        ("", "empty; give eidosd's base URL, e.g. --server http://localhost:8080"),
        ("http://h:99999", "the port must be a number from 1 to 65535"),
        (
            "http://h/v1/recipe?gpu=h100",
            "give the base URL without ?query or #fragment (criteria go in flags); e.g. --server http://h",
        ),
    ],
)
def test_an_unusable_server_url_is_exit_2_naming_the_flag(typed: str, says: str) -> None:
    code, out, err = cli("recipe", "--gpu", "h100", "--server", typed)
    assert (code, out) == (2, "")
    assert f"argument --server: {typed!r}: {says}" in err
    assert len(error_lines(err)) == 1, err


def test_unreachable_servers_in_our_words() -> None:
    port = free_port()  # nothing listens there
    code, out, err = cli("recipe", "--gpu", "h100", "--server", f"127.0.0.1:{port}")
    assert (code, out) == (6, "")
    assert f"cannot reach eidosd at http://127.0.0.1:{port}: connection refused; is it running? (--server)" in err
    code, out, err = cli("recipe", "--gpu", "h100", "--server", "http://no-such-host.invalid:8080/v1/recipe")
    assert (code, out) == (6, "")
    assert "cannot reach eidosd at http://no-such-host.invalid:8080: host 'no-such-host.invalid' not found" in err
    assert "check the host name (--server)" in err
    for text in (err,):
        assert "aiohttp" not in text and "ClientConnector" not in text and "Traceback" not in text
        assert len(error_lines(text)) == 1, text


@pytest.fixture
async def silent() -> AsyncIterator[tuple[str, list[bool]]]:
    """A socket that accepts and reads but never answers (``hang``) or hangs up at once."""
    hang = [True]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        if hang[0]:
            await reader.read()  # until the client gives up
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", hang
    finally:
        srv.close()
        await srv.wait_closed()


async def test_no_answer_is_a_timeout_and_a_hang_up_is_named(silent: tuple[str, list[bool]]) -> None:
    url, hang = silent
    with pytest.raises(TimeoutExceededError) as raised:
        await fetch_recipe(url, Criteria(accelerator="h100"), answer_within=0.3)
    assert raised.value.message == f"eidosd at {url} gave no answer within 0.3s (--server)"
    hang[0] = False
    with pytest.raises(UnavailableError) as closed:
        await fetch_recipe(url, Criteria(accelerator="h100"), answer_within=5)
    assert (
        closed.value.message == f"eidosd at {url} closed the connection without answering; is {url} eidosd? (--server)"
    )


def test_no_criteria_is_the_base_recipe_in_both_programs(server: EidosdProcess) -> None:
    status, served = server.json("/v1/recipe")
    assert status == 200
    assert served["criteria"] == {"service": "any", "accelerator": "any", "intent": "any", "os": "any"}
    code, local, err = cli("recipe", "-t", "json")
    assert code == 0, err
    assert "no criteria given: resolving the base recipe (every criterion any)" in err
    assert json.loads(local) == served
    code, remote, err = cli("recipe", "-t", "json", "--server", server.url)
    assert code == 0, err
    assert json.loads(remote) == served
    code, nodes_zero, err = cli("recipe", "-t", "json", "--nodes", "0")  # 0 is "any", not an error
    assert code == 0 and json.loads(nodes_zero) == served, err


def test_negative_nodes_refused_like_the_server(server: EidosdProcess) -> None:
    status, envelope = server.json("/v1/recipe?nodes=-3")
    assert status == 400
    for extra in ([], ["--server", server.url]):
        code, out, err = cli("recipe", "--nodes", "-3", *extra)
        assert (code, out) == (2, "")
        assert f"--nodes -3: {envelope['message']}; allowed: an integer from 0 to 100000, 0 meaning any" in err
