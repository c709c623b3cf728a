"""The one YAML/JSON loader and YAML dumper of Eidos (ruamel.yaml, YAML 1.2 core schema only).

Every document Eidos reads — request bodies, recipe data, recipes, snapshots, criteria files —
goes through :func:`load`, which enforces :class:`Limits` (size, depth, nodes, scalar length,
integer digits, alias expansion) before any parser can recurse or allocate without bound.

* ``1.10`` is a float under YAML 1.2 but recipe data means the *text*: ``load(..., raw=True)``
  keeps every scalar as a :class:`Scalar` with its literal text and line, so string-typed
  fields can take the text verbatim while typed fields (Helm ``overrides``) take the value.
* Duplicate mapping keys are errors, as in Go's yaml.v3.
* Output is block style with 2-space indentation, insertion order kept, and strings that
  would read back as another type quoted.
"""

from __future__ import annotations

from typing import Any

from eidos_core.yaml.dump import dump
from eidos_core.yaml.events import Scalar, parse_yaml, plain
from eidos_core.yaml.jsonfast import NotJson, parse_json
from eidos_core.yaml.limits import DEFAULT_LIMITS, LimitExceededError, Limits, YamlSyntaxError

__all__ = [
    "DEFAULT_LIMITS",
    "LimitExceededError",
    "Limits",
    "Scalar",
    "YamlSyntaxError",
    "dump",
    "load",
    "plain",
]


def load(
    text: str | bytes,
    *,
    source: str = "<input>",
    raw: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    json_only: bool = False,
) -> Any:
    """Parse exactly one YAML (or JSON) document (an empty document is ``None``).

    ``json_only``: the sender declared JSON (``Content-Type: application/json``), so the text
    must be JSON, and a problem is reported in JSON's terms rather than YAML's.
    """
    size = len(text)
    if size > limits.max_bytes:
        unit = "bytes" if isinstance(text, bytes) else "characters"
        raise LimitExceededError(source, "max_bytes", f"document of {size} {unit} (at most {limits.max_bytes})")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise YamlSyntaxError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if json_only:
        try:
            return parse_json(text, source=source, limits=limits)
        except NotJson as exc:
            raise YamlSyntaxError(source, f"invalid JSON: {exc.reason}", exc.line, exc.column) from None
    if not raw and text.lstrip()[:1] in ("{", "["):
        try:
            return parse_json(text, source=source, limits=limits)
        except NotJson:
            pass  # YAML says where the problem is
    return parse_yaml(text, source=source, raw=raw, limits=limits)
