"""Criteria derived from a snapshot: service from the Kubernetes version string, accelerator from
the GPU model, OS from ``/etc/os-release``'s ID. Intent and nodes cannot be derived."""

from __future__ import annotations

import re

from eidos_core.errors import CriteriaError
from eidos_core.recipe.criteria import ACCELERATORS, ANY, Criteria, parse_field
from eidos_core.snapshot.model import Snapshot

# Substring of the server version → service (checked after an explicit "service" reading).
_VERSION_MARKERS = (("-eks-", "eks"), ("-gke", "gke"), ("-aks", "aks"), ("-oke", "oke"))
# Longest names first, so "gb200" is not read as something shorter.
_MODEL_ORDER = tuple(sorted(ACCELERATORS, key=lambda a: (-len(a), a)))
# An accelerator name inside a product name ("NVIDIA B200", "NVIDIA H200 NVL", "NVIDIA L40S",
# "NVIDIA A100-SXM4-80GB", the node label "NVIDIA-H100-80GB-HBM3"): not preceded by a letter or
# digit and not followed by a digit, so "NVIDIA GH200" (Grace Hopper) is not an H200 and
# "NVIDIA GB200" is not a B200 — GH200 and other GPUs outside the enum stay "any".
_MODEL_PATTERNS = tuple((name, re.compile(rf"(?<![a-z0-9]){name}(?![0-9])")) for name in _MODEL_ORDER)


def accelerator_from_product(product: object) -> str:
    """The accelerator a GPU product name (nvidia-smi or GPU Operator node label) names, or ``any``."""
    text = str(product or "").lower()
    return next((name for name, pattern in _MODEL_PATTERNS if pattern.search(text)), ANY)


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
            found = accelerator_from_product(model)
            if found != ANY:
                accelerator = found

    if accelerator == ANY:
        # No nvidia-smi where the agent ran: the GPU Operator's node label still names the GPU.
        accelerator = accelerator_from_product(snapshot.lookup("K8s", "node", "label.nvidia.com/gpu.product"))

    os_id = snapshot.lookup("OS", "release", "ID")
    if os_id is not None:
        os_type = _parse_or_any("os", os_id)

    return Criteria(service=service, accelerator=accelerator, os=os_type)
