"""``eidos_core.diff`` as pure logic: snapshot drift and recipe changes over decoded documents,
paths, ignore patterns, the Diff document and the table."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos_core.diff import (
    DEFAULT_IGNORES,
    RECIPE,
    SNAPSHOT,
    Change,
    ChangeKind,
    diff_recipes,
    diff_snapshots,
    diff_to_document,
    document_subject,
    render_diff_table,
)
from eidos_core.diff.documents import merged_values
from eidos_core.diff.model import change_to_document
from eidos_core.diff.paths import flatten_values, is_ignored, same_value, unclosed_bracket
from eidos_core.diff.table import MAX_VALUE
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import Recipe, Registry
from eidos_core.recipe.result import recipe_from_document
from eidos_core.snapshot.model import Snapshot, snapshot_from_document, snapshot_to_document

ADDED, REMOVED, CHANGED = ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.CHANGED


def snap(metadata: dict[str, str], *measurements: tuple[str, str, dict[str, Any]]) -> Snapshot:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for type_, subtype, data in measurements:
        by_type.setdefault(type_, []).append({"subtype": subtype, "data": data})
    doc = {
        "kind": "Snapshot",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "metadata": metadata,
        "measurements": [{"type": t, "subtypes": subs} for t, subs in by_type.items()],
    }
    return snapshot_from_document(doc)


BEFORE = snap(
    {"timestamp": "2026-01-02T18:01:13Z", "version": "0.8.12", "source": "node-1"},
    ("K8s", "server", {"version": "v1.30.14", "platform": "linux/amd64"}),
    ("GPU", "smi", {"driver": "570.133.20", "gpu-count": 8}),
    ("OS", "sysctl", {"/proc/sys/kernel/threads-max": "16512444"}),
)
AFTER = snap(
    {"timestamp": "2026-01-03T09:00:00Z", "version": "0.9.0", "source": "node-1"},
    ("K8s", "server", {"version": "v1.32.9", "platform": "linux/amd64"}),
    ("GPU", "smi", {"driver": "570.133.20", "cuda-version": "12.8"}),
    ("OS", "sysctl", {"/proc/sys/kernel/threads-max": "16512444"}),
)


def triples(changes: tuple[Change, ...]) -> list[tuple[str, str, Any, Any]]:
    """(path, change, old, new), None for an absent side, as the Diff document has them."""
    docs = [change_to_document(c) for c in changes]
    return [(d["path"], d["change"], d.get("old"), d.get("new")) for d in docs]


# ---------------------------------------------------------------- snapshots


def test_snapshot_drift_lists_added_removed_and_changed_readings_in_path_order() -> None:
    diff = diff_snapshots(BEFORE, AFTER)
    assert diff.subject == SNAPSHOT
    assert triples(diff.changes) == [
        ("GPU/smi/cuda-version", "added", None, "12.8"),
        ("GPU/smi/gpu-count", "removed", 8, None),
        ("K8s/server/version", "changed", "v1.30.14", "v1.32.9"),
    ]
    assert diff.ignored == 2  # metadata timestamp and version, by default
    assert diff.drifted


def test_a_snapshot_with_itself_or_an_equal_copy_has_no_drift() -> None:
    for other in (BEFORE, snapshot_from_document(copy.deepcopy(snapshot_to_document(BEFORE)))):
        diff = diff_snapshots(BEFORE, other, ignore=())
        assert diff.changes == () and not diff.drifted and diff.ignored == 0


def test_readings_compare_as_text() -> None:
    a = snap({}, ("GPU", "smi", {"gpu-count": 8, "cuda-version": "12.8", "mig": True}))
    b = snap({}, ("GPU", "smi", {"gpu-count": "8", "cuda-version": 12.8, "mig": "true"}))
    assert diff_snapshots(a, b).changes == ()


def test_without_default_ignores_metadata_stamps_are_drift() -> None:
    diff = diff_snapshots(BEFORE, AFTER, ignore=())
    paths = [c.path for c in diff.changes]
    assert paths[:2] == ["metadata/timestamp", "metadata/version"]
    assert diff.changes[0] == Change("metadata/timestamp", CHANGED, "2026-01-02T18:01:13Z", "2026-01-03T09:00:00Z")


def test_a_whole_measurement_type_added_lists_each_of_its_readings() -> None:
    a = snap({}, ("K8s", "server", {"version": "v1.30"}))
    b = snap({}, ("K8s", "server", {"version": "v1.30"}), ("SystemD", "kubelet.service", {"A": 1, "B": "x"}))
    assert triples(diff_snapshots(a, b).changes) == [
        ("SystemD/kubelet.service/A", "added", None, 1),
        ("SystemD/kubelet.service/B", "added", None, "x"),
    ]
    assert triples(diff_snapshots(b, a).changes) == [
        ("SystemD/kubelet.service/A", "removed", 1, None),
        ("SystemD/kubelet.service/B", "removed", "x", None),
    ]


def test_a_subtype_listed_twice_counts_once_the_first() -> None:
    a = snap({}, ("K8s", "server", {"version": "v1"}), ("K8s", "server", {"version": "v2", "extra": "x"}))
    b = snap({}, ("K8s", "server", {"version": "v1"}))
    assert diff_snapshots(a, b).changes == ()


# ---------------------------------------------------------------- ignore patterns


@pytest.mark.parametrize(
    ("path", "pattern", "hit"),
    [
        ("metadata/timestamp", "*/timestamp", True),
        ("metadata/timestamp", "metadata.*", True),  # . and / interchangeable
        ("metadata/timestamp", "metadata", True),  # an ancestor
        ("metadata/timestamp", "meta", False),
        ("SystemD/kubelet.service/ActiveEnterTimestamp", "SystemD/*", True),
        ("SystemD/kubelet.service/ActiveEnterTimestamp", "*Timestamp*", True),
        ("SystemD/kubelet.service/ActiveEnterTimestamp", "*timestamp*", False),  # case matters
        ("SystemD/kubelet.service/ActiveEnterTimestamp", "SystemD/kubelet", False),  # not a /-ancestor
        ("OS/sysctl//proc/sys/kernel/threads-max", "OS/sysctl//proc/sys/kernel", True),
        ("componentRefs/gpu-operator/overrides/driver.version", "componentRefs/*/overrides/driver.*", True),
        ("componentRefs/gpu-operator/overrides/driver.version", "componentRefs/gpu-operator", True),
        ("componentRefs/gpu-operator", "componentRefs/gpu-operator/*", False),
    ],
)
def test_ignore_patterns(path: str, pattern: str, hit: bool) -> None:
    assert is_ignored(path, [pattern]) is hit


def test_ignored_changes_are_counted_and_named() -> None:
    diff = diff_snapshots(BEFORE, AFTER, ignore=[*DEFAULT_IGNORES, "GPU/*"])
    assert [c.path for c in diff.changes] == ["K8s/server/version"]
    assert diff.ignored == 4
    assert diff.ignore == (*DEFAULT_IGNORES, "GPU/*")


@pytest.mark.parametrize("pattern", ["", "  "])
def test_an_empty_pattern_is_refused(pattern: str) -> None:
    with pytest.raises(InvalidRequestError, match="--ignore: empty pattern"):
        diff_snapshots(BEFORE, AFTER, ignore=[pattern])


@pytest.mark.parametrize(
    ("pattern", "position"), [("[", 1), ("metadata/[time", 10), ("[]", 1), ("[!]", 1), ("*[0-9]/x[", 9)]
)
def test_a_pattern_with_an_unclosed_bracket_is_refused(pattern: str, position: int) -> None:
    # fnmatch would read that '[' as a literal and the pattern would quietly match nothing.
    with pytest.raises(InvalidRequestError, match=rf"'\[' at position {position} is not closed") as info:
        diff_snapshots(BEFORE, AFTER, ignore=[pattern])
    assert info.value.details == {"field": "ignore", "value": pattern, "position": position}


@pytest.mark.parametrize(
    ("pattern", "path"),
    [("[[]x]", "[x]"), ("[]]", "]"), ("[!]]", "a"), ("GPU/smi/[cd]*", "GPU/smi/driver"), ("*]", "a]")],
)
def test_closed_sets_and_a_bare_closing_bracket_are_patterns(pattern: str, path: str) -> None:
    assert unclosed_bracket(pattern) is None
    assert is_ignored(path, [pattern])


# ---------------------------------------------------------------- values paths


def test_flatten_values_nests_with_dots_and_keeps_lists_and_empty_mappings_whole() -> None:
    values = {
        "driver": {"version": "570", "kernelModuleConfig": {"name": "params"}},
        "tolerations": [{"key": "nvidia.com/gpu"}],
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "empty": {},
        "nothing": None,
    }
    assert flatten_values(values) == {
        "driver.version": "570",
        "driver.kernelModuleConfig.name": "params",
        "tolerations": [{"key": "nvidia.com/gpu"}],
        "nodeSelector.nvidia\\.com/gpu\\.present": "true",
        "empty": {},
        "nothing": None,
    }


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, 1, True),
        (1, True, False),
        (1, 1.0, False),
        ("1", 1, False),
        ([1, {"a": "x"}], [1, {"a": "x"}], True),
        ([1, 2], [2, 1], False),
        ({"a": 1}, {"a": 1, "b": None}, False),
        (None, None, True),
    ],
)
def test_same_value_compares_types_all_the_way_down(a: Any, b: Any, same: bool) -> None:
    assert same_value(a, b) is same


# ---------------------------------------------------------------- recipes


def recipe(**changes: Any) -> Recipe:
    doc: dict[str, Any] = {
        "kind": "recipeResult",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "metadata": {"version": "0.1.0", "appliedOverlays": ["base", "eks", "h100"]},
        "criteria": {"service": "eks", "accelerator": "h100", "intent": "training", "os": "any"},
        "constraints": [
            {"name": "K8s.server.version", "value": ">= 1.29"},
            {"name": "GPU.smi.driver", "value": ">= 550"},
        ],
        "componentRefs": [
            {
                "name": "gpu-operator",
                "type": "Helm",
                "source": "https://helm.ngc.nvidia.com/nvidia",
                "version": "v25.3.0",
                "valuesFile": "components/gpu-operator/values.yaml",
                "overrides": {"driver": {"version": "570.133.20", "enabled": True}, "tolerations": [{"key": "a"}]},
            },
            {"name": "cert-manager", "type": "Helm", "source": "https://charts.jetstack.io", "version": "v1.17.2"},
        ],
        "deploymentOrder": ["cert-manager", "gpu-operator"],
    }
    doc.update(changes)
    return recipe_from_document(doc)


def test_a_recipe_with_itself_has_no_changes() -> None:
    diff = diff_recipes(recipe(), recipe(), ignore=())
    assert diff.subject == RECIPE and diff.changes == ()


def test_recipe_changes_in_section_order() -> None:
    old = recipe()
    new_refs = [
        {
            "name": "gpu-operator",
            "type": "Helm",
            "source": "https://helm.ngc.nvidia.com/nvidia",
            "version": "v25.10.0",
            "valuesFile": "components/gpu-operator/values-v2.yaml",
            "overrides": {
                "driver": {"version": "580.82.07", "enabled": True, "rdma": {"enabled": True}},
                "tolerations": [{"key": "a"}, {"key": "b"}],
            },
        },
        {"name": "nvidia-dra-driver-gpu", "type": "Helm", "source": "https://helm.ngc.nvidia.com/nvidia",
         "version": "25.12.0"},
    ]  # fmt: skip
    new = recipe(
        metadata={"version": "0.2.0", "appliedOverlays": ["base", "eks", "gb200"]},
        criteria={"service": "eks", "accelerator": "gb200", "intent": "training", "os": "any"},
        constraints=[{"name": "K8s.server.version", "value": ">= 1.32"}, {"name": "OS.release.ID", "value": "ubuntu"}],
        componentRefs=new_refs,
        deploymentOrder=["gpu-operator", "nvidia-dra-driver-gpu"],
    )
    diff = diff_recipes(old, new)
    assert triples(diff.changes) == [
        ("metadata/appliedOverlays", "changed", ["base", "eks", "h100"], ["base", "eks", "gb200"]),
        ("criteria/accelerator", "changed", "h100", "gb200"),
        ("constraints/GPU.smi.driver", "removed", ">= 550", None),
        ("constraints/K8s.server.version", "changed", ">= 1.29", ">= 1.32"),
        ("constraints/OS.release.ID", "added", None, "ubuntu"),
        ("componentRefs/cert-manager", "removed", "v1.17.2", None),
        ("componentRefs/gpu-operator/overrides/driver.rdma.enabled", "added", None, True),
        ("componentRefs/gpu-operator/overrides/driver.version", "changed", "570.133.20", "580.82.07"),
        ("componentRefs/gpu-operator/overrides/tolerations", "changed", [{"key": "a"}], [{"key": "a"}, {"key": "b"}]),
        ("componentRefs/gpu-operator/valuesFile", "changed", "components/gpu-operator/values.yaml",
         "components/gpu-operator/values-v2.yaml"),
        ("componentRefs/gpu-operator/version", "changed", "v25.3.0", "v25.10.0"),
        ("componentRefs/nvidia-dra-driver-gpu", "added", None, "25.12.0"),
        ("deploymentOrder", "changed", ["cert-manager", "gpu-operator"], ["gpu-operator", "nvidia-dra-driver-gpu"]),
    ]  # fmt: skip
    assert diff.ignored == 1  # metadata/version: 0.1.0 → 0.2.0, the producer's stamp


def test_overrides_added_to_a_component_without_any() -> None:
    refs = [{"name": "cert-manager", "type": "Helm", "version": "v1", "overrides": {"crds": {"enabled": True}}}]
    old = recipe(componentRefs=[{"name": "cert-manager", "type": "Helm", "version": "v1"}])
    assert triples(diff_recipes(old, recipe(componentRefs=refs)).changes) == [
        ("componentRefs/cert-manager/overrides/crds.enabled", "added", None, True),
    ]
    assert triples(diff_recipes(recipe(componentRefs=refs), old).changes) == [
        ("componentRefs/cert-manager/overrides/crds.enabled", "removed", True, None),
    ]


def test_a_value_becoming_a_mapping_is_one_removed_and_its_leaves_added() -> None:
    old = recipe(componentRefs=[{"name": "x", "overrides": {"image": "repo/x:1"}}])
    new = recipe(componentRefs=[{"name": "x", "overrides": {"image": {"repository": "repo/x", "tag": "1"}}}])
    assert triples(diff_recipes(old, new).changes) == [
        ("componentRefs/x/overrides/image", "removed", "repo/x:1", None),
        ("componentRefs/x/overrides/image.repository", "added", None, "repo/x"),
        ("componentRefs/x/overrides/image.tag", "added", None, "1"),
    ]


def test_a_recipe_without_criteria_against_one_with_criteria() -> None:
    old = recipe_from_document({"kind": "recipeResult", "componentRefs": []})
    new = recipe_from_document({"kind": "recipeResult", "criteria": {"service": "gke"}, "componentRefs": []})
    assert [(c.path, c.kind) for c in diff_recipes(old, new).changes] == [
        ("criteria/accelerator", ADDED), ("criteria/intent", ADDED), ("criteria/os", ADDED),
        ("criteria/service", ADDED),
    ]  # fmt: skip


def test_a_constraint_name_listed_twice_is_two_entries() -> None:
    twice = [{"name": "K8s.server.version", "value": ">= 1.29"}, {"name": "K8s.server.version", "value": "< 1.34"}]
    once = [{"name": "K8s.server.version", "value": ">= 1.29"}]
    assert triples(diff_recipes(recipe(constraints=once), recipe(constraints=twice)).changes) == [
        ("constraints/K8s.server.version#2", "added", None, "< 1.34"),
    ]


# ---------------------------------------------------------------- merged values

VALUES_FILE = "components/gpu-operator/values.yaml"
FILES = {VALUES_FILE: b"driver:\n  version: '570.133.20'\n  enabled: true\n  upgradePolicy: {maxParallelUpgrades: 1}\n"}


def test_merged_values_are_the_values_file_then_the_overrides() -> None:
    values = merged_values(recipe(), FILES, Registry())
    assert values["gpu-operator"] == {
        "driver": {"version": "570.133.20", "enabled": True, "upgradePolicy": {"maxParallelUpgrades": 1}},
        "tolerations": [{"key": "a"}],
    }
    assert values["cert-manager"] == {}  # neither a values file nor overrides


def test_a_values_file_missing_from_the_data_is_not_found_naming_it() -> None:
    with pytest.raises(NotFoundError, match=f"values file {VALUES_FILE} of component gpu-operator"):
        merged_values(recipe(), {}, Registry())


def test_with_values_a_changed_values_file_shows_under_one_file_name() -> None:
    changed = {VALUES_FILE: FILES[VALUES_FILE].replace(b"maxParallelUpgrades: 1", b"maxParallelUpgrades: 2")}
    same = recipe()
    diff = diff_recipes(
        same, same, values=(merged_values(same, FILES, Registry()), merged_values(same, changed, Registry()))
    )
    assert triples(diff.changes) == [
        ("componentRefs/gpu-operator/values/driver.upgradePolicy.maxParallelUpgrades", "changed", 1, 2),
    ]
    assert diff_recipes(same, same).changes == ()  # the documents alone cannot see it


def test_with_values_overrides_are_not_listed_apart_and_a_no_op_override_is_no_change() -> None:
    refs = copy.deepcopy(recipe().to_document()["componentRefs"])
    refs[0]["overrides"] = {"driver": {"version": "580.82.07", "enabled": True}, "tolerations": [{"key": "a"}]}
    refs[0]["overrides"]["driver"]["upgradePolicy"] = {"maxParallelUpgrades": 1}  # what the file already has
    old, new = recipe(), recipe(componentRefs=refs)
    diff = diff_recipes(old, new, values=(merged_values(old, FILES, Registry()), merged_values(new, FILES, Registry())))
    assert triples(diff.changes) == [
        ("componentRefs/gpu-operator/values/driver.version", "changed", "570.133.20", "580.82.07"),
    ]
    # Without values: the overrides as written, the no-op one included.
    assert [c.path for c in diff_recipes(old, new).changes] == [
        "componentRefs/gpu-operator/overrides/driver.upgradePolicy.maxParallelUpgrades",
        "componentRefs/gpu-operator/overrides/driver.version",
    ]


def test_with_values_a_component_added_or_removed_is_one_row() -> None:
    old = recipe()
    new = recipe(componentRefs=[*old.to_document()["componentRefs"],
                                {"name": "x", "version": "1", "overrides": {"a": {"b": 1}}}])  # fmt: skip
    forward = diff_recipes(
        old, new, values=(merged_values(old, FILES, Registry()), merged_values(new, FILES, Registry()))
    )
    assert triples(forward.changes) == [("componentRefs/x", "added", None, "1")]
    backward = diff_recipes(
        new, old, values=(merged_values(new, FILES, Registry()), merged_values(old, FILES, Registry()))
    )
    assert triples(backward.changes) == [("componentRefs/x", "removed", "1", None)]


# ---------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    ("doc", "subject"),
    [
        ({"kind": "Snapshot"}, SNAPSHOT),
        ({"kind": "recipeResult"}, RECIPE),
        ({"Kind": "RecipeResult"}, RECIPE),
        ({"measurements": []}, SNAPSHOT),
        ({"componentRefs": []}, RECIPE),
    ],
)
def test_document_subject(doc: dict[str, Any], subject: str) -> None:
    assert document_subject(doc, source="x.yaml") == subject


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"kind": "ValidationResult"},
            "x.yaml: kind 'ValidationResult' cannot be compared (allowed: Snapshot, recipeResult)",
        ),
        ({"spec": {}}, "x.yaml: no kind, measurements or componentRefs"),
        (["a"], "x.yaml: not a Snapshot or recipeResult document"),
    ],
)
def test_document_subject_refuses_other_documents(doc: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        document_subject(doc, source="x.yaml")
    assert info.value.message.startswith(message)
    assert info.value.exit_code == 2


# ---------------------------------------------------------------- document and table


def test_the_diff_document() -> None:
    diff = diff_snapshots(BEFORE, AFTER)
    doc = diff_to_document(diff, old_source="a.yaml", new_source="cm://ns/b")
    assert {k: doc[k] for k in ("kind", "apiVersion", "subject", "oldSource", "newSource", "ignore")} == {
        "kind": "Diff", "apiVersion": "eidos.nvidia.com/v1alpha1", "subject": "Snapshot",
        "oldSource": "a.yaml", "newSource": "cm://ns/b", "ignore": list(DEFAULT_IGNORES),
    }  # fmt: skip
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 1, "total": 3, "ignored": 2}
    assert doc["changes"][0] == {"path": "GPU/smi/cuda-version", "change": "added", "new": "12.8"}
    assert doc["changes"][1] == {"path": "GPU/smi/gpu-count", "change": "removed", "old": 8}
    json.dumps(doc)  # JSON-able as it is


def test_a_null_value_is_kept_apart_from_an_absent_one() -> None:
    old = recipe(componentRefs=[{"name": "x", "overrides": {"a": None}}])
    new = recipe(componentRefs=[{"name": "x", "overrides": {"a": 1}}])
    doc = diff_to_document(diff_recipes(old, new), old_source="a", new_source="b")
    assert doc["changes"] == [{"path": "componentRefs/x/overrides/a", "change": "changed", "old": None, "new": 1}]


def test_the_table_aligns_columns_and_ends_with_a_summary() -> None:
    lines = render_diff_table(diff_snapshots(BEFORE, AFTER)).splitlines()
    assert lines[0].split() == ["CHANGE", "PATH", "OLD", "NEW"]
    assert [line.split() for line in lines[1:4]] == [
        ["added", "GPU/smi/cuda-version", "-", "12.8"],
        ["removed", "GPU/smi/gpu-count", "8", "-"],
        ["changed", "K8s/server/version", "v1.30.14", "v1.32.9"],
    ]
    # Each column starts at the same offset on every row.
    for column in ("PATH", "OLD", "NEW"):
        start = lines[0].index(column)
        assert all(row[start - 2 : start] == "  " and row[start] != " " for row in lines[1:4])
    assert lines[4] == ""
    assert lines[5] == "1 changed, 1 added, 1 removed (2 ignored: metadata/timestamp, metadata/version)"


def test_the_table_without_changes_says_so() -> None:
    assert render_diff_table(diff_snapshots(BEFORE, BEFORE, ignore=())) == "no differences\n"


def test_table_cells_cut_long_values_and_show_empty_strings_and_structures() -> None:
    long = "x" * 200
    old = recipe(componentRefs=[{"name": "x", "overrides": {"a": "", "b": long, "c": [1, "two"], "d": "l1\nl2"}}])
    new = recipe(componentRefs=[{"name": "x", "overrides": {}}])
    rows = [line.split("  ") for line in render_diff_table(diff_recipes(old, new)).splitlines()[1:5]]
    cells = [[c for c in row if c][2] for row in rows]
    assert cells == ['""', "x" * (MAX_VALUE - 1) + "…", '[1,"two"]', "l1\\nl2"]


# ---------------------------------------------------------------- properties

readings = st.one_of(st.integers(-(2**40), 2**40), st.booleans(), st.text(max_size=8))
names = st.text(alphabet="abcdefgh.-", min_size=1, max_size=6)
subtype_data = st.dictionaries(names, readings, max_size=4)
snapshots = st.dictionaries(st.sampled_from(["K8s", "GPU", "OS"]), st.dictionaries(names, subtype_data, max_size=3))


def _snapshot(tree: dict[str, dict[str, dict[str, Any]]]) -> Snapshot:
    return snap({}, *((t, s, data) for t, subs in tree.items() for s, data in subs.items()))


@given(snapshots, snapshots)
def test_swapping_sides_swaps_added_and_removed(a: Any, b: Any) -> None:
    forward = diff_snapshots(_snapshot(a), _snapshot(b), ignore=())
    backward = diff_snapshots(_snapshot(b), _snapshot(a), ignore=())
    swap = {ADDED: REMOVED, REMOVED: ADDED, CHANGED: CHANGED}
    assert {c.path: (swap[c.kind], c.new, c.old) for c in backward.changes} == {
        c.path: (c.kind, c.old, c.new) for c in forward.changes
    }
    assert len(forward.changes) == len({c.path for c in forward.changes})  # one change per path
    assert diff_snapshots(_snapshot(a), _snapshot(a), ignore=()).changes == ()
