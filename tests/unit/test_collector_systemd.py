"""SystemD collector: ``systemctl show`` parsing (pure) and the subprocess edge with a fake systemctl."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from eidos_agent.collectors.systemd import DEFAULT_UNITS, SystemdCollector, check_unit_name, parse_show
from eidos_core import yaml
from eidos_core.snapshot.model import snapshot_from_document

SHOW_CONTAINERD = """Type=notify
Restart=always
Id=containerd.service
Names=containerd.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
MainPID=38444
ExecMainStartTimestamp=Wed 2025-08-06 09:05:12 UTC
Environment=A=1 B=2
LoadCredential=token:/secret
SetCredentialEncrypted=x
BusName=
WorkingDirectory=
"""


def test_parse_show() -> None:
    props = parse_show(SHOW_CONTAINERD)
    assert props["ActiveState"] == "active"
    assert props["MainPID"] == "38444"
    assert props["Environment"] == "A=1 B=2"  # split at the first "=" only
    assert props["WorkingDirectory"] == ""
    assert props["ExecMainStartTimestamp"] == "Wed 2025-08-06 09:05:12 UTC"
    # The reference's filter: identifiers and credentials.
    for dropped in ("Id", "BusName", "LoadCredential", "SetCredentialEncrypted"):
        assert dropped not in props


def test_parse_show_ignores_junk_and_honours_custom_exclude() -> None:
    assert parse_show("no equals here\n=novalue\nA=1\nA=2\n", exclude=()) == {"A": "2"}
    assert parse_show("Id=x\nActiveState=active\n", exclude=["Active*"]) == {"Id": "x"}


@pytest.mark.parametrize("unit", ["-H", "--host=evil", "a b.service", "", "x;y"])
def test_bad_unit_names_are_refused(unit: str) -> None:
    with pytest.raises(ValueError, match="not a systemd unit name"):
        check_unit_name(unit)
    with pytest.raises(ValueError, match="not a systemd unit name"):
        SystemdCollector(units=[unit])


def test_default_units() -> None:
    assert SystemdCollector().units == DEFAULT_UNITS
    assert "kubelet.service" in DEFAULT_UNITS


# ---------------------------------------------------------------- with a fake systemctl

FAKE_SYSTEMCTL = """#!/bin/sh
[ "$1" = show ] && [ "$3" = --no-pager ] && [ $# -eq 3 ] || { echo "unexpected args: $*" >&2; exit 2; }
case "$2" in
  containerd.service) exec /bin/cat "${0%/*}/containerd.txt" ;;
  slow.service) /bin/sleep 30 ;;
  broken.service) echo "Failed to get properties: Access denied" >&2; exit 1 ;;
  *) printf 'Id=%s\\nLoadState=not-found\\nActiveState=inactive\\n' "$2" ;;
esac
"""


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory that is the whole PATH: the machine's own systemctl is never used."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    return directory


@pytest.fixture
def booted(tmp_path: Path) -> Path:
    marker = tmp_path / "run" / "systemd" / "system"
    marker.mkdir(parents=True)
    return marker


@pytest.fixture
def systemctl(bin_dir: Path) -> Path:
    (bin_dir / "containerd.txt").write_text(SHOW_CONTAINERD)
    path = bin_dir / "systemctl"
    path.write_text(FAKE_SYSTEMCTL)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


async def test_collects_each_unit(systemctl: Path, booted: Path) -> None:
    result = await SystemdCollector(booted_marker=booted).collect()
    assert result.name == "systemd"
    assert result.skipped_reason is None
    assert result.notes == ()
    m = result.measurement
    assert m is not None
    assert m.type == "SystemD"
    assert [s.name for s in m.subtypes] == list(DEFAULT_UNITS)
    containerd = m.subtype("containerd.service")
    assert containerd is not None
    assert containerd.data == parse_show(SHOW_CONTAINERD)
    # A unit that is not installed still answers, as systemd does.
    fabric = m.subtype("nvidia-fabricmanager.service")
    assert fabric is not None
    assert fabric.data == {"LoadState": "not-found", "ActiveState": "inactive"}


async def test_failing_and_hanging_units_are_noted(systemctl: Path, booted: Path) -> None:
    started = time.monotonic()
    collector = SystemdCollector(
        units=["broken.service", "slow.service", "kubelet.service"], timeout=0.5, booted_marker=booted
    )
    result = await collector.collect()
    assert time.monotonic() - started < 5  # the units run concurrently and the sleeper is killed
    assert result.skipped_reason is None
    assert result.notes == (
        "broken.service: systemctl exited with status 1: Failed to get properties: Access denied",
        "slow.service: systemctl did not finish within 0.5 s",
    )
    assert result.measurement is not None
    assert [s.name for s in result.measurement.subtypes] == ["kubelet.service"]


async def test_all_units_failing_skips_with_one_reason(systemctl: Path, booted: Path) -> None:
    result = await SystemdCollector(units=["broken.service"] * 2, booted_marker=booted).collect()
    assert result.skipped_reason == (
        "systemctl exited with status 1: Failed to get properties: Access denied (for all 2 units)"
    )
    assert result.measurement is not None
    assert result.measurement.subtypes == ()


async def test_systemctl_absent(bin_dir: Path, booted: Path) -> None:
    result = await SystemdCollector(booted_marker=booted).collect()
    assert result.skipped_reason == "systemctl not found on PATH"
    assert result.measurement is not None
    assert (result.measurement.type, result.measurement.subtypes) == ("SystemD", ())


async def test_not_booted_with_systemd(systemctl: Path, tmp_path: Path) -> None:
    marker = tmp_path / "no-run" / "systemd" / "system"
    result = await SystemdCollector(booted_marker=marker).collect()
    assert result.skipped_reason == f"not booted with systemd ({marker} is missing)"
    assert result.measurement is not None
    assert result.measurement.subtypes == ()


async def test_empty_unit_list(systemctl: Path, booted: Path) -> None:
    result = await SystemdCollector(units=[], booted_marker=booted).collect()
    assert result.skipped_reason is None
    assert result.measurement is not None
    assert result.measurement.subtypes == ()


def test_reference_snapshot_has_one_subtype_per_unit(reference_dir: Path) -> None:
    snapshot = snapshot_from_document(yaml.load((reference_dir / "snapshots" / "h100.yaml").read_text()))
    systemd = snapshot.measurement("SystemD")
    assert systemd is not None
    names = [s.name for s in systemd.subtypes]
    assert "containerd.service" in names
    assert "kubelet.service" in names
    containerd = systemd.subtype("containerd.service")
    assert containerd is not None
    # The property names systemctl prints are the D-Bus property names the reference stores.
    assert {"ActiveState", "SubState", "LoadState", "UnitFileState"} <= set(containerd.data)
    assert not {"Id", "BusName"} & set(containerd.data)
