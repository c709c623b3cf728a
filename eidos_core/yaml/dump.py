"""YAML output: block style, 2-space indentation, insertion order, and strings quoted where a
YAML 1.1 reader (Helm, go-yaml v2) would read them as another type."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import SafeRepresenter

from eidos_core.yaml.events import plain

_local = threading.local()

_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_YAML11_OTHER = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|$)")


_BLOCK_TEXT = re.compile(r"[^\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]*")


def _represent_str(representer: SafeRepresenter, value: str) -> ScalarNode:
    # Multi-line text (values files, manifests, notes) reads best as a literal block. The
    # emitter falls back to quoting for trailing spaces, but not for everything a block cannot
    # hold (control characters, CR, tabs, leading blanks), so those get double quotes here.
    style = "|" if "\n" in value and _BLOCK_TEXT.fullmatch(value) and not value[0].isspace() else None
    if value.lower() in _YAML11_WORDS or _YAML11_OTHER.match(value):
        # YAML 1.1 readers (Helm, go-yaml v2) would read these as booleans, null, base-60
        # numbers (12:30 → 750) or timestamps.
        style = '"'
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Representer(SafeRepresenter):
    pass


_Representer.add_representer(str, _represent_str)


def _dumper() -> YAML:
    inst: YAML | None = getattr(_local, "dumper", None)
    if inst is None:
        inst = YAML(typ="safe", pure=True)
        inst.Representer = _Representer
        inst.default_flow_style = False
        inst.indent(mapping=2, sequence=4, offset=2)
        inst.width = 4096
        inst.allow_unicode = True
        inst.representer.sort_base_mapping_type_on_output = False
        _local.dumper = inst
    return inst


def _escape(char: str) -> str:
    code = ord(char)
    if char in '"\\':
        return "\\" + char
    if (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or code >= 0x10000
    ):
        return char
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _double_quoted(text: str) -> str:
    return '"' + "".join(map(_escape, text)) + '"'


def dump(data: Any) -> str:
    """Serialise ``data`` as one block-style YAML document."""
    data = plain(data)
    if isinstance(data, str):
        # ruamel writes a literal block at the root without indentation, which reads back
        # as an error; a root string is rare (never a document of ours), so quote it plainly.
        return _double_quoted(data) + "\n"
    buf = io.StringIO()
    _dumper().dump(data, buf)
    return buf.getvalue()
