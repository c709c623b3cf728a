from __future__ import annotations

from pathlib import Path

import pytest

from eidos_core import yaml
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import Criteria
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import Snapshot, reading_text, snapshot_from_document, snapshot_to_document


def snap(k8s_version: str | None = None, model: str | None = None, os_id: str | None = None) -> Snapshot:
    doc: dict[str, object] = {"kind": "Snapshot", "measurements": []}
    ms: list[dict[str, object]] = doc["measurements"]  # type: ignore[assignment]
    if k8s_version:
        ms.append({"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": k8s_version}}]})
    if model:
        ms.append({"type": "GPU", "subtypes": [{"subtype": "smi", "data": {"gpu.model": model, "gpu-count": 8}}]})
    if os_id:
        ms.append({"type": "OS", "subtypes": [{"subtype": "release", "data": {"ID": os_id}}]})
    return snapshot_from_document(doc)


@pytest.mark.parametrize(
    ("name", "accelerator"),
    [("h100.yaml", "h100"), ("gb200.yaml", "gb200")],
)
def test_reference_snapshots(reference_dir: Path, name: str, accelerator: str) -> None:
    doc = yaml.load((reference_dir / "snapshots" / name).read_bytes(), source=name)
    snapshot = snapshot_from_document(doc)
    assert criteria_from_snapshot(snapshot) == Criteria(service="eks", accelerator=accelerator, os="ubuntu")
    # Round trip: writing and reading back keeps every reading.
    again = snapshot_from_document(yaml.load(yaml.dump(snapshot_to_document(snapshot))))
    assert again == snapshot


def test_snapshots_are_read_like_recipes_field_names_in_any_case(reference_dir: Path) -> None:
    """Snapshots and recipes are the documents exchanged with the reference: one tolerant rule
    (unknown fields ignored, names in any case as Go's encoding/json matches them)."""
    doc = yaml.load((reference_dir / "snapshots" / "h100.yaml").read_bytes())

    def go(fields: dict[str, object]) -> dict[str, object]:  # field names only, not map keys
        return {k.upper() if k in ("kind", "type") else k[:1].upper() + k[1:]: v for k, v in fields.items()}

    measurements = [go({**m, "subtypes": [go(sub) for sub in m.get("subtypes", [])]}) for m in doc["measurements"]]
    capitalised = {**go({**doc, "measurements": measurements}), "generatedBy": "go"}
    assert snapshot_from_document(capitalised) == snapshot_from_document(doc)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("v1.30.2-gke.1587003", "NVIDIA A100-SXM4-80GB", "cos"),
            Criteria(service="gke", accelerator="a100", os="cos"),
        ),
        (("v1.31.1", "NVIDIA L40S", "amzn"), Criteria(accelerator="l40", os="amazonlinux")),
        (("v1.32.0-eks-abc", "NVIDIA GB200", "rhel"), Criteria(service="eks", accelerator="gb200", os="rhel")),
        ((None, "Tesla T4", "debian"), Criteria()),
    ],
)
def test_derivation(args: tuple[str | None, str | None, str | None], expected: Criteria) -> None:
    assert criteria_from_snapshot(snap(*args)) == expected


def test_reading_text_is_go_like() -> None:
    assert [reading_text(v) for v in (True, 8.0, 3.14, 18446744073709551615, None)] == [
        "true", "8", "3.14", "18446744073709551615", "<nil>",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ([], "expected a Snapshot mapping, got a list"),
        ({"kind": "Recipe"}, "kind: must be 'Snapshot', got 'Recipe'"),
        ({"measurements": {}}, "measurements: must be a list, got a mapping"),
        ({"measurements": [{"subtypes": []}]}, "measurements[0].type: is required"),
    ],
)
def test_bad_snapshots(doc: object, needle: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        snapshot_from_document(doc, source="snap.yaml")
    assert needle in str(info.value) and str(info.value).startswith("snap.yaml")


def test_gpu_node_label_names_the_accelerator_when_nvidia_smi_was_not_there() -> None:
    from eidos_core.snapshot.criteria import criteria_from_snapshot
    from eidos_core.snapshot.model import snapshot_from_document

    def snap(gpu_model: str | None) -> dict[str, object]:
        measurements: list[dict[str, object]] = [
            {
                "type": "K8s",
                "subtypes": [{"subtype": "node", "data": {"label.nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}],
            }
        ]
        if gpu_model:
            measurements.append({"type": "GPU", "subtypes": [{"subtype": "smi", "data": {"gpu.model": gpu_model}}]})
        return {"kind": "Snapshot", "measurements": measurements}

    assert criteria_from_snapshot(snapshot_from_document(snap(None))).accelerator == "h100"
    # nvidia-smi, when it answered, wins over the label
    assert criteria_from_snapshot(snapshot_from_document(snap("NVIDIA A100-SXM4-80GB"))).accelerator == "a100"
