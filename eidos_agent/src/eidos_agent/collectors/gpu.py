"""GPU collector: ``nvidia-smi -q -x`` → the ``GPU`` measurement.

Subtype ``smi`` keeps the Go reference's keys (node-wide ``driver``, ``cuda-version``, ``gpu-count``
and ``gpu.*`` describing the first GPU) and adds ``gpu.memory-total``, ``gpu.mig-mode`` and
``gpu.ecc-mode``. Every GPU also gets its own subtype ``gpu-<index>`` (index = position in the XML,
which is PCI bus order), so a node with mixed cards or one card in MIG mode is visible. Subtype
names carry no dot, so constraint paths such as ``GPU.gpu-3.mig-mode`` stay unambiguous.

No GPU, no driver, a hung or broken ``nvidia-smi``: the measurement is ``smi: {gpu-count: 0,
reason: …}`` and the result says it was skipped, instead of failing the snapshot.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from eidos_agent.collectors.base import CollectorResult, CommandError, run_command
from eidos_core.snapshot.model import Measurement, Reading, Subtype

MEASUREMENT_TYPE = "GPU"
SUMMARY_SUBTYPE = "smi"
DEFAULT_TIMEOUT = 10.0
ROOT_ELEMENT = "nvidia_smi_log"

# (per-GPU key, path below <gpu>); the smi subtype repeats these for GPU 0 as "gpu.<key>".
_GPU_FIELDS: tuple[tuple[str, str], ...] = (
    ("model", "product_name"),
    ("product-architecture", "product_architecture"),
    ("display-mode", "display_mode"),
    ("display-active", "display_active"),
    ("persistence-mode", "persistence_mode"),
    ("addressing-mode", "addressing_mode"),
    ("vbios-version", "vbios_version"),
    ("gsp-firmware-version", "gsp_firmware_version"),
    ("memory-total", "fb_memory_usage/total"),
    ("mig-mode", "mig_mode/current_mig"),
    ("ecc-mode", "ecc_mode/current_ecc"),
)
# Identity of one card: per-GPU subtypes only (it would say nothing about "the node's GPU").
_IDENTITY_FIELDS: tuple[tuple[str, str], ...] = (
    ("uuid", "uuid"),
    ("pci-bus-id", "pci/pci_bus_id"),
)
# The Go reference's smi keys come from GPU 0; the later three are ours.
_SUMMARY_FIELDS = tuple(key for key, _ in _GPU_FIELDS)

# A DOCTYPE naming an external DTD (nvidia-smi writes one) is harmless because the DTD is never
# fetched; an internal subset ("[ ... ]") or any ENTITY declaration is refused outright.
_DOCTYPE = re.compile(rb"<!DOCTYPE\s[^>\[]*>")
_MIB = re.compile(r"^\s*(\d+)\s*MiB\s*$")


class GpuParseError(ValueError):
    """``nvidia-smi`` output that is not a usable ``nvidia_smi_log`` document."""


def parse_smi_xml(data: bytes | str) -> Measurement:
    """The ``GPU`` measurement for one ``nvidia-smi -q -x`` document.

    Values are the element texts with surrounding whitespace removed; a missing element gives
    ``""``. ``memory-total-mib`` (per GPU, an int) is added when the total reads ``<n> MiB``.
    """
    root = _parse_xml(data.encode() if isinstance(data, str) else data)
    gpus = root.findall("gpu")
    summary: dict[str, Reading] = {
        "driver": _text(root, "driver_version"),
        "cuda-version": _text(root, "cuda_version"),
        "gpu-count": len(gpus),
    }
    subtypes: list[Subtype] = []
    for index, gpu in enumerate(gpus):
        data_ = gpu_readings(gpu)
        if index == 0:
            summary.update({f"gpu.{key}": data_[key] for key in _SUMMARY_FIELDS})
        subtypes.append(Subtype(f"gpu-{index}", data_))
    return Measurement(MEASUREMENT_TYPE, (Subtype(SUMMARY_SUBTYPE, summary), *subtypes))


def gpu_readings(gpu: ET.Element) -> dict[str, Reading]:
    """The readings of one ``<gpu>`` element (keys without the ``gpu.`` prefix)."""
    data: dict[str, Reading] = {key: _text(gpu, path) for key, path in (*_GPU_FIELDS, *_IDENTITY_FIELDS)}
    match = _MIB.match(str(data["memory-total"]))
    if match:
        data["memory-total-mib"] = int(match.group(1))
    return data


def unavailable(reason: str) -> Measurement:
    """The measurement recorded when no GPU information can be had: zero GPUs, and why."""
    return Measurement(MEASUREMENT_TYPE, (Subtype(SUMMARY_SUBTYPE, {"gpu-count": 0, "reason": reason}),))


def _parse_xml(data: bytes) -> ET.Element:
    if not data.strip():
        raise GpuParseError("nvidia-smi printed nothing")
    if b"<!ENTITY" in data:
        raise GpuParseError("nvidia-smi output declares XML entities; refused")
    if b"<!DOCTYPE" in data:
        data, count = _DOCTYPE.subn(b"", data, count=1)
        if count != 1 or b"<!DOCTYPE" in data:
            raise GpuParseError("nvidia-smi output has a DOCTYPE with an internal subset; refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise GpuParseError(f"nvidia-smi output is not valid XML: {exc}") from None
    if root.tag != ROOT_ELEMENT:
        raise GpuParseError(f"nvidia-smi output has root element <{root.tag}>, expected <{ROOT_ELEMENT}>")
    return root


def _text(parent: ET.Element, path: str) -> str:
    element = parent.find(path)
    if element is None or element.text is None:
        return ""
    return element.text.strip()


@dataclass(slots=True)
class GpuCollector:
    """Runs ``<binary> -q -x`` (found on ``PATH``) with a timeout and parses what it prints."""

    binary: str = "nvidia-smi"
    timeout: float = DEFAULT_TIMEOUT
    name: str = "gpu"

    async def collect(self) -> CollectorResult:
        path = shutil.which(self.binary)
        if path is None:
            return self._skip(f"{self.binary} not found on PATH (no NVIDIA driver on this node?)")
        try:
            out = await run_command([path, "-q", "-x"], time_limit=self.timeout)
        except CommandError as exc:
            return self._skip(str(exc))
        if out.returncode != 0:
            detail = out.complaint()
            return self._skip(f"{self.binary} exited with status {out.returncode}" + (f": {detail}" if detail else ""))
        try:
            measurement = parse_smi_xml(out.stdout)
        except GpuParseError as exc:
            return self._skip(str(exc))
        return CollectorResult(self.name, measurement)

    def _skip(self, reason: str) -> CollectorResult:
        return CollectorResult(self.name, unavailable(reason), skipped_reason=reason)
