"""GPU collector: nvidia-smi XML parsing (pure) and the subprocess edge with a fake nvidia-smi."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from eidos_agent.collectors.gpu import GpuCollector, GpuParseError, parse_smi_xml, unavailable
from eidos_core import yaml
from eidos_core.snapshot.model import snapshot_from_document

# Our own small fixture: two different cards, the second in MIG mode, sparse fields on the second.
TWO_GPUS = b"""<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">
<nvidia_smi_log>
  <driver_version>999.1.2</driver_version>
  <cuda_version>13.0</cuda_version>
  <attached_gpus>2</attached_gpus>
  <gpu id="00000000:01:00.0">
    <product_name>NVIDIA H100 80GB HBM3</product_name>
    <product_architecture>Hopper</product_architecture>
    <display_mode>Enabled</display_mode>
    <display_active>Disabled</display_active>
    <persistence_mode>Enabled</persistence_mode>
    <addressing_mode>HMM</addressing_mode>
    <mig_mode><current_mig>Disabled</current_mig><pending_mig>Disabled</pending_mig></mig_mode>
    <uuid>GPU-aaaa</uuid>
    <vbios_version>96.00.BC.00.01</vbios_version>
    <gsp_firmware_version>999.1.2</gsp_firmware_version>
    <pci><pci_bus_id>00000000:01:00.0</pci_bus_id></pci>
    <fb_memory_usage><total>81559 MiB</total><used>1 MiB</used></fb_memory_usage>
    <ecc_mode><current_ecc>Enabled</current_ecc><pending_ecc>Enabled</pending_ecc></ecc_mode>
  </gpu>
  <gpu id="00000000:02:00.0">
    <product_name>NVIDIA A100-SXM4-40GB</product_name>
    <mig_mode><current_mig>Enabled</current_mig></mig_mode>
    <uuid>GPU-bbbb</uuid>
    <fb_memory_usage><total>N/A</total></fb_memory_usage>
  </gpu>
</nvidia_smi_log>
"""

REFERENCE_SMI_KEYS = {
    "driver",
    "cuda-version",
    "gpu-count",
    "gpu.model",
    "gpu.product-architecture",
    "gpu.display-mode",
    "gpu.display-active",
    "gpu.persistence-mode",
    "gpu.addressing-mode",
    "gpu.vbios-version",
    "gpu.gsp-firmware-version",
}


def test_summary_describes_gpu_zero_with_reference_keys() -> None:
    m = parse_smi_xml(TWO_GPUS)
    smi = m.subtype("smi")
    assert m.type == "GPU"
    assert smi is not None
    assert set(smi.data) >= REFERENCE_SMI_KEYS
    assert smi.data["gpu-count"] == 2
    assert smi.data["driver"] == "999.1.2"
    assert smi.data["cuda-version"] == "13.0"
    assert smi.data["gpu.model"] == "NVIDIA H100 80GB HBM3"
    assert smi.data["gpu.addressing-mode"] == "HMM"
    assert smi.data["gpu.memory-total"] == "81559 MiB"
    assert smi.data["gpu.mig-mode"] == "Disabled"
    assert smi.data["gpu.ecc-mode"] == "Enabled"


def test_every_gpu_gets_its_own_subtype() -> None:
    m = parse_smi_xml(TWO_GPUS)
    assert [s.name for s in m.subtypes] == ["smi", "gpu-0", "gpu-1"]
    first, second = m.subtypes[1], m.subtypes[2]
    assert first.data["uuid"] == "GPU-aaaa"
    assert first.data["pci-bus-id"] == "00000000:01:00.0"
    assert first.data["memory-total-mib"] == 81559
    assert first.data["persistence-mode"] == "Enabled"
    assert second.data["model"] == "NVIDIA A100-SXM4-40GB"
    assert second.data["mig-mode"] == "Enabled"
    # Missing elements read as "" (as the reference does); a non-MiB total has no integer form.
    assert second.data["vbios-version"] == ""
    assert second.data["memory-total"] == "N/A"
    assert "memory-total-mib" not in second.data


def test_no_gpu_elements_gives_only_node_keys() -> None:
    m = parse_smi_xml("<nvidia_smi_log><driver_version>1</driver_version></nvidia_smi_log>")
    assert [s.name for s in m.subtypes] == ["smi"]
    assert dict(m.subtypes[0].data) == {"driver": "1", "cuda-version": "", "gpu-count": 0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "printed nothing"),
        (b"  \n", "printed nothing"),
        (b"<nvidia_smi_log><gpu>", "not valid XML"),
        (b"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "not valid XML"),
        (b"<other/>", "root element <other>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><nvidia_smi_log>&a;</nvidia_smi_log>',
            "entities",
        ),
        (b"<!DOCTYPE nvidia_smi_log [ <!ELEMENT x ANY> ]><nvidia_smi_log/>", "internal subset"),
        (
            b'<!DOCTYPE nvidia_smi_log SYSTEM "file:///etc/passwd"><nvidia_smi_log>&xxe;</nvidia_smi_log>',
            "not valid XML",
        ),
    ],
)
def test_bad_output_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(GpuParseError, match=message):
        parse_smi_xml(data)


def test_unavailable_measurement() -> None:
    m = unavailable("no driver")
    assert m.type == "GPU"
    assert [(s.name, dict(s.data)) for s in m.subtypes] == [("smi", {"gpu-count": 0, "reason": "no driver"})]


# ---------------------------------------------------------------- reference fixtures (../shared)


def test_reference_h100_xml(reference_dir: Path) -> None:
    m = parse_smi_xml((reference_dir / "nvidia-smi" / "gpu.xml").read_bytes())
    smi = m.subtype("smi")
    assert smi is not None
    expected = {
        "driver": "570.86.15",
        "cuda-version": "12.8",
        "gpu-count": 8,
        "gpu.model": "NVIDIA H100 80GB HBM3",
        "gpu.product-architecture": "Hopper",
        "gpu.display-mode": "Enabled",
        "gpu.display-active": "Disabled",
        "gpu.persistence-mode": "Disabled",
        "gpu.addressing-mode": "None",
        "gpu.vbios-version": "96.00.A5.00.01",
        "gpu.gsp-firmware-version": "570.86.15",
    }
    assert {k: smi.data[k] for k in expected} == expected
    per_gpu = [s for s in m.subtypes if s.name.startswith("gpu-")]
    assert [s.name for s in per_gpu] == [f"gpu-{i}" for i in range(8)]
    assert len({s.data["uuid"] for s in per_gpu}) == 8
    assert len({s.data["pci-bus-id"] for s in per_gpu}) == 8
    assert all(s.data["model"] == "NVIDIA H100 80GB HBM3" for s in per_gpu)
    assert all(s.data["memory-total-mib"] == 81559 for s in per_gpu)


def test_reference_fake_b200_xml(reference_dir: Path) -> None:
    m = parse_smi_xml((reference_dir / "nvidia-smi" / "fake-b200.xml").read_bytes())
    smi = m.subtype("smi")
    assert smi is not None
    assert (smi.data["driver"], smi.data["cuda-version"], smi.data["gpu-count"]) == ("560.35.03", "12.6", 8)
    assert (smi.data["gpu.model"], smi.data["gpu.product-architecture"]) == ("NVIDIA B200", "Blackwell")
    for key in ("display-mode", "display-active", "persistence-mode", "addressing-mode", "vbios-version"):
        assert smi.data[f"gpu.{key}"] == ""
    assert len(m.subtypes) == 9


def test_reference_snapshot_smi_keys_are_produced(reference_dir: Path) -> None:
    for name in ("h100.yaml", "gb200.yaml"):
        snapshot = snapshot_from_document(yaml.load((reference_dir / "snapshots" / name).read_text()))
        gpu = snapshot.measurement("GPU")
        smi = gpu.subtype("smi") if gpu else None
        assert smi is not None
        assert set(smi.data) == REFERENCE_SMI_KEYS
    ours = parse_smi_xml((reference_dir / "nvidia-smi" / "gpu.xml").read_bytes()).subtype("smi")
    assert ours is not None
    assert set(ours.data) >= REFERENCE_SMI_KEYS


# ---------------------------------------------------------------- the collector, with a fake nvidia-smi


def fake_tool(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory that is the whole PATH: a real nvidia-smi can never be picked up."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    return directory


async def test_collects_from_fake_nvidia_smi(bin_dir: Path, tmp_path: Path) -> None:
    xml = tmp_path / "smi.xml"
    xml.write_bytes(TWO_GPUS)
    fake_tool(
        bin_dir,
        "nvidia-smi",
        f'[ "$1 $2" = "-q -x" ] || {{ echo "unexpected args: $*" >&2; exit 2; }}\nexec /bin/cat "{xml}"\n',
    )
    result = await GpuCollector().collect()
    assert result.name == "gpu"
    assert result.skipped_reason is None
    assert result.measurement == parse_smi_xml(TWO_GPUS)


async def test_missing_binary(bin_dir: Path) -> None:
    result = await GpuCollector().collect()
    assert result.skipped
    assert result.skipped_reason is not None
    assert "not found" in result.skipped_reason
    assert result.measurement == unavailable(result.skipped_reason)


async def test_failing_binary(bin_dir: Path) -> None:
    # Like the real tool without a driver: the complaint goes to stdout, exit status non-zero.
    fake_tool(bin_dir, "nvidia-smi", 'echo "NVIDIA-SMI has failed because it couldn\'t communicate"\nexit 1\n')
    result = await GpuCollector().collect()
    assert (
        result.skipped_reason
        == "nvidia-smi exited with status 1: NVIDIA-SMI has failed because it couldn't communicate"
    )
    assert result.measurement is not None
    smi = result.measurement.subtype("smi")
    assert smi is not None
    assert smi.data == {"gpu-count": 0, "reason": result.skipped_reason}


async def test_hanging_binary_times_out(bin_dir: Path) -> None:
    # Not exec: the shell's child sleep must be killed too, or its open pipe would keep us waiting.
    fake_tool(bin_dir, "nvidia-smi", "/bin/sleep 30\necho never\n")
    started = time.monotonic()
    result = await GpuCollector(timeout=0.5).collect()
    assert time.monotonic() - started < 5
    assert result.skipped_reason == "nvidia-smi did not finish within 0.5 s"
    smi = result.measurement.subtype("smi") if result.measurement else None
    assert smi is not None
    assert smi.data["gpu-count"] == 0


async def test_malformed_xml(bin_dir: Path) -> None:
    fake_tool(bin_dir, "nvidia-smi", "echo '<nvidia_smi_log><gpu>'\n")
    result = await GpuCollector().collect()
    assert result.skipped_reason is not None
    assert result.skipped_reason.startswith("nvidia-smi output is not valid XML")
    assert result.measurement == unavailable(result.skipped_reason)


async def test_configured_binary_path(tmp_path: Path, bin_dir: Path) -> None:
    tool = fake_tool(tmp_path / "elsewhere", "smi", "echo '<nvidia_smi_log/>'\n")
    result = await GpuCollector(binary=os.fspath(tool)).collect()
    assert result.skipped_reason is None
    assert result.measurement is not None
    assert result.measurement.subtypes[0].data["gpu-count"] == 0
