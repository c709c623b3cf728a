"""The result of a diff: each :class:`Change` at a path, and the ``kind: Diff`` document.

The document (``-t yaml|json``) is a stable schema::

    kind: Diff
    apiVersion: eidos.nvidia.com/v1alpha1
    subject: Snapshot            # or recipeResult: what was compared
    oldSource: a.yaml            # the URIs as given (A, then B)
    newSource: b.yaml
    ignore: [metadata/timestamp, metadata/version]   # every pattern applied, defaults included
    summary: {added: 1, removed: 0, changed: 1, total: 2, ignored: 1}
    changes:                     # in path order; empty when the two are the same
      - {path: K8s/server/version, change: changed, old: v1.30.14, new: v1.32.9}
      - {path: OS/kmod/nvidia_fs, change: added, new: true}

``old`` is absent on ``added`` and ``new`` on ``removed`` (a value may itself be null);
``summary.ignored`` counts the differences an ``ignore`` pattern left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eidos_core import API_VERSION

DIFF_KIND = "Diff"

# Stamps of the program that wrote a document, not facts about the cluster: two snapshots of an
# unchanged node differ in their timestamp, two recipes of one cluster in the Eidos version.
DEFAULT_IGNORES: tuple[str, ...] = ("metadata/timestamp", "metadata/version")


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


class _Missing:
    """No value on this side (added or removed): distinct from None, which a Helm value may be."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Change:
    """One difference. ``old`` is :data:`MISSING` when added, ``new`` when removed."""

    path: str
    kind: ChangeKind
    old: Any = MISSING
    new: Any = MISSING


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed from A to B; ``ignored`` counts the differences ``ignore`` left out."""

    subject: str
    changes: tuple[Change, ...]
    ignore: tuple[str, ...] = ()
    ignored: int = 0

    @property
    def drifted(self) -> bool:
        return bool(self.changes)

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind is kind)


def change_to_document(change: Change) -> dict[str, Any]:
    doc: dict[str, Any] = {"path": change.path, "change": str(change.kind)}
    if change.old is not MISSING:
        doc["old"] = change.old
    if change.new is not MISSING:
        doc["new"] = change.new
    return doc


def summary(diff: Diff) -> dict[str, int]:
    counts = {str(kind): diff.count(kind) for kind in ChangeKind}
    return {**counts, "total": len(diff.changes), "ignored": diff.ignored}


def diff_to_document(diff: Diff, *, old_source: str, new_source: str) -> dict[str, Any]:
    return {
        "kind": DIFF_KIND,
        "apiVersion": API_VERSION,
        "subject": diff.subject,
        "oldSource": old_source,
        "newSource": new_source,
        "ignore": list(diff.ignore),
        "summary": summary(diff),
        "changes": [change_to_document(c) for c in diff.changes],
    }
