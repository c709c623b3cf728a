"""One codec for every wire document: tables declared on the model dataclasses, one reader.

Every document Eidos reads or writes — recipe data overlays (``recipeMetadata``), the registry
(``ComponentRegistry``), ``recipeResult``, ``recipeCriteria``, ``Snapshot``, the validation
report — is a dataclass whose attributes are declared with :func:`wire` (:mod:`.fields`): wire
key, value kind (text, integer bounds, enum, list of, mapping, nested record), required or not,
when it is written (:class:`Emit`), how overlays merge it (:class:`Merge`: replace, keep,
deep-merge, union), authoring checks, description. :mod:`.record` derives from that one
declaration the decoder, the encoder (field order = declaration order), the merge and the JSON
schema that eidosd publishes as OpenAPI, so a new field is one line (tests/unit/test_field_addition.py).
The table is the dataclass itself rather than a table beside it: a second table would make a
field two edits again.

One reader (:mod:`.reader`) knows the document's source and, for raw-mode YAML
(:class:`eidos_core.yaml.Scalar`), each value's line. It runs in one of two modes:
``Mode.COLLECT`` (recipe data: every problem with file, line and field, reading on with
defaults, so ``eidos-cli data validate`` lists them all) or ``Mode.FIRST`` (a request, a recipe,
a snapshot: :class:`InvalidRequestError` at the first problem, ``details.field`` naming it, e.g.
``componentRefs[2].overrides``). A document kind also picks a policy in its :class:`Header`:
*strict* (data we author: exact keys, unknown keys are problems, authoring checks run) or
*tolerant* (documents exchanged with the Go reference: unknown keys ignored, keys matched in any
case as Go's ``encoding/json`` does, authoring checks left to the consumer).

Why not marshmallow (a dependency of eidosd, which uses it through aiohttp-apigami to describe
the API)? Measured with a marshmallow 3.26 prototype of the same readers on the same inputs
(``python -m bench.codec``; CPython 3.11, best of 7, a shared 2-core machine):

==========================================  =========  ============
input                                        codec      marshmallow
==========================================  =========  ============
the 28 embedded overlays (raw-mode YAML)     1.0 ms     1.7 ms
a recipeResult with 320 component refs       4.9 ms     6.9 ms
a snapshot with 88,400 readings              11 ms      175 ms
==========================================  =========  ============

Speed is not the reason, though; the hard requirements are. marshmallow reports errors as a
nested dict of messages without lines, so every problem would need a second walk of the raw
document to be located; it has no stop-at-the-first mode; raw-mode :class:`Scalar` values
(``version: 1.10`` must stay ``"1.10"``) need a custom field for every kind anyway; and it would
add a dependency to eidos-core and to the agent image. What marshmallow is good at here —
feeding apispec — is kept: eidosd turns the same declarations into marshmallow classes for
the OpenAPI document (``eidosd.schemas.schema_for``), so the schema cannot drift from the reader.
"""

from eidos_core.codec.fields import (
    Check,
    Choice,
    Const,
    Emit,
    FreeMapping,
    Group,
    Header,
    Integer,
    Invalid,
    Kind,
    ListOf,
    Merge,
    Nested,
    OptionalText,
    ScalarMap,
    Spec,
    Text,
    TextMap,
    Timestamp,
    scalar_text,
    wire,
)
from eidos_core.codec.reader import Mode, Reader
from eidos_core.codec.record import Properties, Property, Record, decode, decode_all, deep_merge, encode, merge, record

__all__ = [
    "Check",
    "Choice",
    "Const",
    "Emit",
    "FreeMapping",
    "Group",
    "Header",
    "Integer",
    "Invalid",
    "Kind",
    "ListOf",
    "Merge",
    "Mode",
    "Nested",
    "OptionalText",
    "Properties",
    "Property",
    "Reader",
    "Record",
    "ScalarMap",
    "Spec",
    "Text",
    "TextMap",
    "Timestamp",
    "decode",
    "decode_all",
    "deep_merge",
    "encode",
    "merge",
    "record",
    "scalar_text",
    "wire",
]
