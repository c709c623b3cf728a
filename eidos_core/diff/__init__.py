"""What changed between two snapshots (drift) or two recipes (an upgrade): pure functions over
decoded documents, no I/O. ``eidos-cli diff`` reads the documents and writes the result.

* :mod:`eidos_core.diff.model` — a :class:`Change` (path, added/removed/changed, old, new), the
  :class:`Diff` of two documents and its ``kind: Diff`` document;
* :mod:`eidos_core.diff.paths` — flat maps of path → value, their comparison and ``--ignore``;
* :mod:`eidos_core.diff.documents` — the two kinds: which one a document is, and their diffs
  (recipes with each component's merged Helm values, or the documents alone);
* :mod:`eidos_core.diff.table` — the aligned table people read.
"""

from eidos_core.diff.documents import (
    RECIPE,
    SNAPSHOT,
    SUBJECTS,
    ComponentValues,
    diff_recipes,
    diff_snapshots,
    document_subject,
    merged_values,
)
from eidos_core.diff.model import DEFAULT_IGNORES, DIFF_KIND, Change, ChangeKind, Diff, diff_to_document
from eidos_core.diff.table import render_diff_table

__all__ = [
    "DEFAULT_IGNORES",
    "DIFF_KIND",
    "RECIPE",
    "SNAPSHOT",
    "SUBJECTS",
    "Change",
    "ChangeKind",
    "ComponentValues",
    "Diff",
    "diff_recipes",
    "diff_snapshots",
    "diff_to_document",
    "document_subject",
    "merged_values",
    "render_diff_table",
]
