"""Hostile documents, each one a way a file, a body or a ConfigMap entry has taken a program
down or could: nesting past any stack, alias bombs, numbers and strings past every bound, text
that is not text. Every entry point must answer each with a clear 4xx / exit 2 / reload error.
"""

from __future__ import annotations

DEEP = 100_000


def _alias_bomb() -> bytes:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines).encode()


PAYLOADS: dict[str, bytes] = {
    "deep-flow": b"[" * DEEP,
    "deep-flow-closed": b"[" * DEEP + b"]" * DEEP,
    "deep-mapping": b"{a: " * DEEP + b"}" * DEEP,
    "deep-json": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(1000)).encode(),
    "alias-bomb": _alias_bomb(),
    "huge-int": b"spec:\n  nodes: " + b"9" * 5000 + b"\n",
    "huge-int-json": b'{"spec": {"nodes": ' + b"9" * 5000 + b"}}",
    "huge-string": b"kind: " + b"x" * (2 * 1024 * 1024) + b"\n",
    "invalid-utf8": b"kind: \xff\xfe\xfd\n",
    "nul-byte": b"kind: Recipe\x00\n",
    "lone-surrogate": b'{"kind": "\\udc00"}',
    "recursive-alias": b"a: &x [*x]\n",
    "python-tag": b"kind: !!python/object/apply:os.system [echo]\n",
    "two-documents": b"kind: a\n---\nkind: b\n",
}

# The ones small enough to send as a request body under a 64 KiB limit.
SMALL = {name: body for name, body in PAYLOADS.items() if len(body) <= 60 * 1024}
