"""``--server URL``: the one place the CLI reads eidosd's address.

What users type is normalised to a base URL the request paths are appended to:
``localhost:8080`` gets ``http://`` (as curl does), and an endpoint URL copied from a browser
or the docs (``http://host:8080/v1/recipe``) is cut back before its ``/v1`` — any path before
that stays, for an eidosd behind a reverse proxy under a prefix. Everything else that cannot
be an eidosd address (another scheme, spaces, no host, a bad port, ``?query``, credentials)
is refused with a message saying what to type. No network access here: this module does not import aiohttp.
"""

from __future__ import annotations

import argparse
import re
from urllib.parse import urlsplit

from eidos_core.errors import InvalidRequestError

FLAG = "--server"
SCHEMES = ("http", "https")
EXAMPLE = "http://localhost:8080"
# "name:" followed by something other than a digit is a scheme ("https://", "ftp:x");
# "localhost:8080" is host:port, and "localhost:" a host whose port is missing.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]|$)")
# Everything from the API's version segment on is the endpoint, not the base.
_ENDPOINT = re.compile(r"/v1(?:/.*)?$")


def _normalise(text: str) -> tuple[str, str]:
    """``(base URL, "")``, or ``("", why it is refused and what to type instead)``."""
    stripped = text.strip()
    if not stripped:
        return "", f"empty; give eidosd's base URL, e.g. {FLAG} {EXAMPLE}"
    if any(c.isspace() for c in stripped):
        return "", f"a URL has no blanks in it; give eidosd's base URL, e.g. {FLAG} {EXAMPLE}"
    raw = stripped if _SCHEME.match(stripped) else f"http://{stripped}"
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return "", (
            f"eidosd is reached over http:// or https://, not {scheme}://; "
            f"e.g. {FLAG} http://{parts.netloc or 'localhost:8080'}"
        )
    if not parts.hostname:
        return "", f"no host name; e.g. {FLAG} {EXAMPLE}"
    if "@" in parts.netloc:
        # eidosd takes no credentials, and a password here would end up in every error line.
        where = parts.netloc.rsplit("@", 1)[1]
        return "", f"eidosd takes no user name or password in the URL; e.g. {FLAG} {scheme}://{where}"
    try:
        port = parts.port  # ValueError for text or a number outside 0..65535
    except ValueError:
        port = 0
    netloc = parts.netloc.rstrip(":")  # "host:" is host on the default port
    if port == 0 and ":" in netloc.rsplit("]", 1)[-1]:
        host = netloc.rsplit(":", 1)[0]  # "[::1]" stays bracketed
        return "", f"the port must be a number from 1 to 65535; e.g. {FLAG} {scheme}://{host}:8080"
    base_path = _ENDPOINT.sub("", parts.path).rstrip("/")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        return "", (
            "give the base URL without ?query or #fragment (criteria go in flags); "
            f"e.g. {FLAG} {scheme}://{netloc}{base_path}"
        )
    return f"{scheme}://{netloc}{base_path}", ""


_CREDENTIALS = re.compile(r"(?<=//)[^/@]*@|^[^/@]*@")


def _redacted(text: str) -> str:
    """``text`` as it may be echoed: a ``user:password@`` part replaced, so no error line or log
    record carries a secret someone typed."""
    return _CREDENTIALS.sub("***@", text, count=1)


def server_base_url(text: str) -> str:
    """eidosd's base URL from what was typed; :class:`InvalidRequestError` (exit 2, HTTP 400)
    naming ``--server`` when it cannot be one."""
    url, problem = _normalise(text)
    if problem:
        shown = _redacted(text)
        raise InvalidRequestError(f"invalid {FLAG} {shown!r}: {problem}", details={"field": FLAG, "value": shown})
    return url


def server_flag(text: str) -> str:
    """:func:`server_base_url` as an argparse ``type``: a refusal is a usage error (exit 2)."""
    url, problem = _normalise(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{_redacted(text)!r}: {problem}")
    return url
