"""``--server`` text → eidosd's base URL (eidos_cli.server_url): what is understood, what is
refused, and that every refusal names the flag and says what to type."""

from __future__ import annotations

import argparse

import pytest

from eidos_cli.server_url import server_base_url, server_flag
from eidos_core.errors import InvalidRequestError


@pytest.mark.parametrize(
    ("typed", "base"),
    [
        ("http://localhost:8080", "http://localhost:8080"),
        ("localhost:8080", "http://localhost:8080"),  # no scheme: http, as curl does
        (" localhost:8080/ ", "http://localhost:8080"),
        ("HTTPS://eidosd.example", "https://eidosd.example"),
        ("http://host:8080/v1/recipe", "http://host:8080"),  # an endpoint URL: cut back to the base
        ("http://host:8080/v1/query", "http://host:8080"),
        ("http://host:8080/v1", "http://host:8080"),
        ("http://proxy.example/eidos/v1/recipe", "http://proxy.example/eidos"),  # a prefix stays
        ("http://proxy.example/eidos/", "http://proxy.example/eidos"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("http://[::1]:8080/v1/recipe", "http://[::1]:8080"),
        ("http://host:", "http://host"),
        ("localhost:", "http://localhost"),  # host:, no scheme: a host on the default port
        ("my.host:", "http://my.host"),
        ("http://host/v10", "http://host/v10"),  # not the API's version segment
    ],
)
def test_understood(typed: str, base: str) -> None:
    assert server_base_url(typed) == base
    assert server_flag(typed) == base
    assert server_base_url(base) == base  # normalising twice changes nothing


@pytest.mark.parametrize(
    ("typed", "why", "hint"),
    [
        ("", "empty", "--server http://localhost:8080"),
        ("   ", "empty", "--server http://localhost:8080"),
        ("http://local host:8080", "no blanks", "--server http://localhost:8080"),
        ("ftp://host:21", "not ftp://", "--server http://host:21"),
        ("mailto:ops", "not mailto://", "--server http://localhost:8080"),
        ("http://:8080", "no host name", "--server http://localhost:8080"),
        ("https:/host", "no host name", "--server http://localhost:8080"),
        ("http://host:99999", "port must be a number from 1 to 65535", "--server http://host:8080"),
        ("host:8o80", "port must be a number from 1 to 65535", "--server http://host:8080"),
        ("host:0", "port must be a number from 1 to 65535", "--server http://host:8080"),
        ("http://host/v1/recipe?gpu=h100", "without ?query or #fragment", "--server http://host"),
        ("http://host/#top", "without ?query or #fragment", "--server http://host"),
        ("http://admin:s3cret@host:8080", "no user name or password", "--server http://host:8080"),
        ("admin@host", "no user name or password", "--server http://host"),
    ],
)
def test_refused_with_what_to_type(typed: str, why: str, hint: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        server_base_url(typed)
    message = raised.value.message
    shown = typed.replace("admin:s3cret@", "***@").replace("admin@", "***@")
    assert message.startswith(f"invalid --server {shown!r}: ") and why in message and hint in message
    assert raised.value.details == {"field": "--server", "value": shown}
    with pytest.raises(argparse.ArgumentTypeError, match=why.replace("?", r"\?")):
        server_flag(typed)


def test_a_password_is_never_repeated_back() -> None:
    """A refused URL with credentials: the message and details name the flag, never the secret."""
    with pytest.raises(InvalidRequestError) as raised:
        server_base_url("http://admin:s3cret@host:8080")
    message = raised.value.message
    assert "s3cret" not in message and "s3cret" not in str(raised.value.details), message
    assert message.startswith("invalid --server 'http://***@host:8080': ") and message.endswith("http://host:8080")
    with pytest.raises(argparse.ArgumentTypeError) as usage:
        server_flag("admin:s3cret@host")
    assert "s3cret" not in str(usage.value) and "***@host" in str(usage.value)
