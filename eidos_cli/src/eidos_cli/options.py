"""Flag types shared by the commands: booleans that take ``=false``, repeatable comma lists,
output formats and the Kubernetes/output flags every I/O command has, and the check of an
``--output`` that is a file or stdout only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from eidos_cli.parser import ArgumentContainer
from eidos_core.errors import InvalidRequestError
from eidos_core.io.documents import FORMATS
from eidos_core.io.uri import Scheme, parse_uri

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool`` spellings, so flags and env vars read as users expect."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r} (use true or false)")


def env_bool(env: dict[str, str] | Any, name: str) -> bool:
    raw = env.get(name, "")
    try:
        return parse_bool(raw) if raw else False
    except argparse.ArgumentTypeError:
        sys.stderr.write(f"eidos-cli: {name}={raw!r} is not a boolean (use true or false)\n")
        raise SystemExit(2) from None


def add_bool(parser: ArgumentContainer, flag: str, *, default: bool, help: str) -> None:
    """``--flag`` sets true; ``--flag=false`` (any ParseBool spelling) sets false."""
    parser.add_argument(
        flag, nargs="?", const=True, default=default, type=parse_bool, metavar="BOOL",
        help=f"{help} (default {str(default).lower()}; --{flag.lstrip('-')}=false to turn off)",
    )  # fmt: skip


class CommaList(argparse.Action):
    """A repeatable flag whose values are also split on commas, each piece trimmed."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        current: list[str] = list(getattr(ns, self.dest, None) or [])
        current.extend(piece.strip() for piece in str(values).split(",") if piece.strip())
        setattr(ns, self.dest, current)


def add_list(parser: ArgumentContainer, *flags: str, metavar: str, help: str) -> None:
    parser.add_argument(
        *flags, action=CommaList, default=[], metavar=metavar, help=f"{help} (repeatable; comma-separated)"
    )


def add_output(
    parser: argparse.ArgumentParser,
    *,
    formats: Sequence[str] = FORMATS,
    what: str = "the result",
    configmap: bool = True,
    format_help: str = "output format (default: yaml)",
) -> None:
    """``-o/--output`` and ``-t/--format``; ``configmap=False`` for output that is a file or stdout only."""
    where = "a file, - for stdout, or cm://namespace/name" if configmap else "a file or - for stdout"
    parser.add_argument(
        "-o", "--output", default="-", metavar="URI", help=f"where to write {what}: {where} (default: stdout)"
    )
    parser.add_argument("-t", "--format", choices=tuple(formats), default="yaml", help=format_help)


def output_file(uri: str, *, command: str) -> str | None:
    """The file an ``--output`` of a file-or-stdout command names, ``None`` for stdout (``-``);
    any other location (``cm://``, ``http://``…) is refused naming the flag and the command.
    Called before any input is read, so a bad destination costs nothing."""
    loc = parse_uri(uri)
    if loc.scheme is Scheme.STDIO:
        return None
    if loc.scheme is Scheme.FILE:
        return loc.path
    raise InvalidRequestError(
        f"invalid --output {uri!r}: {command} writes to a file or - (stdout)",
        details={"field": "output", "value": uri, "allowed": ["FILE", "-"]},
    )


def add_kubeconfig(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-k", "--kubeconfig", metavar="FILE",
        help="kubeconfig for cm:// locations (default: the in-cluster service account, "
        "else $KUBECONFIG, else ~/.kube/config)",
    )  # fmt: skip
