"""Constraint names as paths into a snapshot: ``<Type>.<Subtype>.<Key>``.

Only the first two dots separate, so keys keep their dots and slashes
(``OS.sysctl./proc/sys/kernel/osrelease``, ``GPU.smi.gpu.model``). A subtype whose own name
contains a dot (``SystemD.containerd.service.ActiveState``) is resolved at lookup time against
the snapshot's subtype names (``evaluate.lookup_text``), where the reference cannot address it.
"""

from __future__ import annotations

from dataclasses import dataclass

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import MEASUREMENT_TYPES


@dataclass(frozen=True, slots=True)
class ConstraintPath:
    type: str
    subtype: str
    key: str

    def __str__(self) -> str:
        return f"{self.type}.{self.subtype}.{self.key}"


def parse_path(name: str) -> ConstraintPath:
    """Split a constraint name; the type must be one of the measurement types, case and all."""
    parts = name.split(".", 2)
    if len(parts) < 3:
        raise InvalidRequestError(
            f"{name!r} has {len(parts)} part(s), want <Type>.<Subtype>.<Key>", details={"name": name}
        )
    type_, subtype, key = parts
    if type_ not in MEASUREMENT_TYPES:
        raise InvalidRequestError(
            f"unknown measurement type {type_!r} in {name!r} (allowed: {', '.join(MEASUREMENT_TYPES)})",
            details={"name": name},
        )
    # An empty part could never match a snapshot entry; say so instead of reporting "not found".
    for label, part in (("subtype", subtype), ("key", key)):
        if not part:
            raise InvalidRequestError(f"empty {label} in {name!r}", details={"name": name})
    return ConstraintPath(type_, subtype, key)
