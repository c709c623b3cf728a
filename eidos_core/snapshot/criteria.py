"""Criteria derived from a snapshot: service from the Kubernetes version string, accelerator from
the GPU model, OS from ``/etc/os-release``'s ID. Intent and nodes cannot be derived."""

from __future__ import annotations

from eidos_core.errors import CriteriaError
from eidos_core.recipe.criteria import ACCELERATORS, ANY, Criteria, parse_field
from eidos_core.snapshot.model import Snapshot

# Substring of the server version → service (checked after an explicit "service" reading).
_VERSION_MARKERS = (("-eks-", "eks"), ("-gke", "gke"), ("-aks", "aks"), ("-oke", "oke"))
# Longest names first, so "gb200" is not read as something shorter.
_MODEL_ORDER = tuple(sorted(ACCELERATORS, key=lambda a: (-len(a), a)))


def _parse_or_any(field: str, raw: object) -> str:
    try:
        return parse_field(field, raw)
    except CriteriaError:
        return ANY


def criteria_from_snapshot(snapshot: Snapshot) -> Criteria:
    service = accelerator = os_type = ANY

    explicit = snapshot.lookup("K8s", "server", "service")
    if explicit is not None:
        service = _parse_or_any("service", explicit)
    version = snapshot.lookup("K8s", "server", "version")
    if isinstance(version, str):
        for marker, name in _VERSION_MARKERS:
            if marker in version.lower():
                service = name
                break

    for subtype in ("smi", "device"):
        for key in ("gpu.model", "model"):
            model = snapshot.lookup("GPU", subtype, key)
            if model is None:
                continue
            text = str(model).lower()
            for name in _MODEL_ORDER:
                if name in text:
                    accelerator = name
                    break

    if accelerator == ANY:
        # No nvidia-smi where the agent ran: the GPU Operator's node label still names the GPU.
        product = snapshot.lookup("K8s", "node", "label.nvidia.com/gpu.product")
        text = str(product or "").lower()
        accelerator = next((name for name in _MODEL_ORDER if name in text), ANY)

    os_id = snapshot.lookup("OS", "release", "ID")
    if os_id is not None:
        os_type = _parse_or_any("os", os_id)

    return Criteria(service=service, accelerator=accelerator, os=os_type)
