"""OS collector: os-release, kernel command line, modules and sysctl parsing (pure), and collection
from fake root trees built in tmp_path."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eidos_agent.collectors.os import (
    OsCollector,
    choose_root,
    collect_os,
    parse_cmdline,
    parse_modules,
    parse_os_release,
    parse_sysctl_value,
    read_sysctl,
    resolve_in_root,
)
from eidos_core import yaml
from eidos_core.snapshot.model import snapshot_from_document

# ---------------------------------------------------------------- os-release


def test_os_release_quoting_and_comments() -> None:
    text = (
        "# a comment\n"
        'NAME="Ubuntu"\n'
        "VERSION='8.7 (Ootpa)'\n"
        "ID=ubuntu\n"
        '  VERSION_ID="24.04"  \n'
        'BUILD_ID=""\n'
        "MALFORMED LINE WITHOUT EQUALS\n"
        'PRETTY_NAME="Say \\"hi\\" \\$HOME"\n'
        "URL=https://example.com/a=b\n"
        "bad key=x\n"
        "\n"
    )
    assert parse_os_release(text) == {
        "NAME": "Ubuntu",
        "VERSION": "8.7 (Ootpa)",
        "ID": "ubuntu",
        "VERSION_ID": "24.04",
        "PRETTY_NAME": 'Say "hi" $HOME',
        "URL": "https://example.com/a=b",
    }


def test_os_release_empty() -> None:
    assert parse_os_release("") == {}


# ---------------------------------------------------------------- /proc/cmdline


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "BOOT_IMAGE=/boot/vmlinuz ro quiet splash root=/dev/sda1 panic=-1\n",
            {"BOOT_IMAGE": "/boot/vmlinuz", "ro": "", "quiet": "", "splash": "", "panic": "-1"},
        ),
        ("ro root=/dev/sda1 quiet root=UUID=1234-5678", {"ro": "", "quiet": ""}),
        ("hugepagesz=2M  hugepages=5128", {"hugepagesz": "2M", "hugepages": "5128"}),
        ('dyndbg="file foo.c +p" quiet', {"dyndbg": "file foo.c +p", "quiet": ""}),
        ("a=1 a=2", {"a": "2"}),
        ("quiet -- single init=/bin/x", {"quiet": ""}),
        ("", {}),
    ],
)
def test_cmdline(text: str, expected: dict[str, str]) -> None:
    assert parse_cmdline(text) == expected


def test_modules() -> None:
    text = (
        "nvidia_uvm 1863680 0 - Live 0x0000000000000000 (POE)\n"
        "nvidia 104329216 2 nvidia_uvm,nvidia_modeset, Live 0x0000000000000000 (POE)\n\n"
    )
    assert parse_modules(text) == {"nvidia_uvm": True, "nvidia": True}
    assert parse_modules("") == {}


# ---------------------------------------------------------------- sysctl values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60\n", {"/proc/sys/vm/swappiness": "60"}),
        ("", {"/proc/sys/vm/swappiness": ""}),
        ("4\t4\t1\t7\n", {"/proc/sys/vm/swappiness": "4\t4\t1\t7"}),
        # The reference loses this one ("#" read as a comment); we keep it.
        ("#34~22.04.1-Ubuntu SMP\n", {"/proc/sys/vm/swappiness": "#34~22.04.1-Ubuntu SMP"}),
        (
            "tcp 1048576\nudp   32768\n",
            {"/proc/sys/vm/swappiness/tcp": "1048576", "/proc/sys/vm/swappiness/udp": "32768"},
        ),
        ("a b\nlonely\n", {"/proc/sys/vm/swappiness": "a b\nlonely"}),
    ],
)
def test_sysctl_value(text: str, expected: dict[str, str]) -> None:
    assert parse_sysctl_value("/proc/sys/vm/swappiness", text) == expected


# ---------------------------------------------------------------- fake root trees


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A node's root as mounted in the pod: os-release behind an absolute symlink, a small /proc."""
    root = tmp_path / "host"
    write(root, "usr/lib/os-release", 'ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.5 LTS"\n')
    (root / "etc").mkdir()
    (root / "etc" / "os-release").symlink_to("/usr/lib/os-release")  # absolute: must stay inside root
    write(root, "proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.0 root=UUID=abc ro nokaslr\n")
    write(root, "proc/modules", "nvidia 1 0 - Live 0x0\nxfs 2 1 - Live 0x0\n")
    sysctl: dict[str, str | bytes] = {
        "proc/sys/vm/swappiness": "60\n",
        "proc/sys/kernel/osrelease": "6.8.0-1024-aws\n",
        "proc/sys/kernel/version": "#34~22.04.1-Ubuntu SMP\n",
        "proc/sys/kernel/random/uuid": "changes-every-read\n",
        "proc/sys/sunrpc/transports": "tcp 1048576\nudp 32768\n",
        "proc/sys/net/ipv4/ip_forward": "1\n",
        "proc/sys/dev/cdrom/info": "CD-ROM information\n",
        "proc/sys/fs/binary": b"\xff\xfe\n",
        "proc/sys/fs/huge": "x" * (70 << 10),
    }
    for relative, text in sysctl.items():
        write(root, relative, text)
    (root / "proc/sys/vm/linked").symlink_to("swappiness")
    os.mkfifo(root / "proc/sys/fs/pipe")  # reading it would block: must be skipped, not read
    return root


def test_resolve_in_root_keeps_absolute_links_inside(host: Path) -> None:
    assert resolve_in_root(host, "/etc/os-release") == host / "usr/lib/os-release"
    (host / "etc" / "up").symlink_to("../../../../../../usr/lib/os-release")
    assert resolve_in_root(host, "/etc/up") == host / "usr/lib/os-release"


def test_resolve_in_root_link_loop(host: Path) -> None:
    (host / "etc" / "loop").symlink_to("/etc/loop")
    with pytest.raises(OSError, match="symbolic links"):
        resolve_in_root(host, "/etc/loop")


def test_read_sysctl(host: Path) -> None:
    readings, notes = read_sysctl(host / "proc")
    assert readings == {
        "/proc/sys/kernel/osrelease": "6.8.0-1024-aws",
        "/proc/sys/kernel/version": "#34~22.04.1-Ubuntu SMP",
        "/proc/sys/sunrpc/transports/tcp": "1048576",
        "/proc/sys/sunrpc/transports/udp": "32768",
        "/proc/sys/vm/swappiness": "60",
    }
    assert notes == []
    assert list(readings) == sorted(readings)  # walked in name order


def test_read_sysctl_is_bounded(host: Path) -> None:
    readings, notes = read_sysctl(host / "proc", max_entries=2)
    assert len(readings) <= 3
    assert notes == ["sysctl: stopped after 2 entries"]


def test_read_sysctl_skips_entries_that_cannot_be_read(host: Path) -> None:
    # A socket cannot be opened as a file, whoever asks (root included).
    target = host / "proc/sys/vm/swappiness"
    target.unlink()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(target))
        readings, notes = read_sysctl(host / "proc")
    assert "/proc/sys/vm/swappiness" not in readings
    assert "/proc/sys/kernel/osrelease" in readings
    assert notes == []


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block with an unprivileged effective uid, so permission bits apply even under root."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_read_sysctl_notes_directories_it_cannot_list() -> None:
    top = Path(tempfile.mkdtemp(prefix="eidos-sysctl-"))  # not under pytest's 0700 tmp root
    try:
        top.chmod(0o755)
        (top / "sys/kernel").mkdir(parents=True)
        (top / "sys/kernel/osrelease").write_text("6.8.0\n")
        (top / "sys/sunrpc").mkdir()
        for path in (top / "sys", top / "sys/kernel"):
            path.chmod(0o755)
        (top / "sys/kernel/osrelease").chmod(0o644)
        (top / "sys/sunrpc").chmod(0o000)
        with unprivileged():
            readings, notes = read_sysctl(top)
    finally:
        (top / "sys/sunrpc").chmod(0o755)
        shutil.rmtree(top)
    assert readings == {"/proc/sys/kernel/osrelease": "6.8.0"}
    assert notes == ["sysctl: cannot list /proc/sys/sunrpc: Permission denied"]


def test_collect_os_from_host_root(host: Path) -> None:
    measurement, notes = collect_os(host, source="host")
    assert notes == []
    assert measurement.type == "OS"
    assert [s.name for s in measurement.subtypes] == ["grub", "sysctl", "kmod", "release"]
    grub, sysctl, kmod, release = measurement.subtypes
    assert grub.data == {"BOOT_IMAGE": "/boot/vmlinuz-6.8.0", "ro": "", "nokaslr": ""}
    assert sysctl.data["/proc/sys/vm/swappiness"] == "60"
    assert kmod.data == {"nvidia": True, "xfs": True}
    assert release.data == {
        "ID": "ubuntu",
        "VERSION_ID": "22.04",
        "PRETTY_NAME": "Ubuntu 22.04.5 LTS",
        "kernel": "6.8.0-1024-aws",
        "source": "host",
        "source-root": str(host),
        "proc-root": str(host / "proc"),
    }


def test_etc_os_release_wins_over_usr_lib(host: Path) -> None:
    (host / "etc" / "os-release").unlink()
    write(host, "etc/os-release", "ID=rhel\n")
    measurement, _ = collect_os(host)
    release = measurement.subtype("release")
    assert release is not None
    assert release.data["ID"] == "rhel"


def test_missing_sources_drop_their_subtype(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    write(root, "etc/os-release", "ID=debian\n")
    measurement, notes = collect_os(root)
    assert [s.name for s in measurement.subtypes] == ["release"]
    assert len(notes) == 4  # grub, sysctl, kmod, kernel
    assert all(str(root / "proc") in note for note in notes)


async def test_collector_uses_host_root(host: Path, tmp_path: Path) -> None:
    container = tmp_path / "container"
    write(container, "etc/os-release", "ID=debian\n")
    result = await OsCollector(host_root=host, fallback_root=container).collect()
    assert result.name == "os"
    assert result.skipped_reason is None
    assert result.notes == ()
    assert result.measurement is not None
    release = result.measurement.subtype("release")
    assert release is not None
    assert (release.data["ID"], release.data["source"], release.data["source-root"]) == ("ubuntu", "host", str(host))


async def test_collector_falls_back_when_host_root_not_mounted(host: Path, tmp_path: Path) -> None:
    result = await OsCollector(host_root=tmp_path / "absent", fallback_root=host).collect()
    assert result.skipped_reason is None
    assert result.notes[0].startswith(f"host root {tmp_path / 'absent'} is not mounted")
    assert result.measurement is not None
    release = result.measurement.subtype("release")
    assert release is not None
    assert (release.data["source"], release.data["source-root"]) == ("container", str(host))


async def test_collector_takes_proc_from_fallback_when_host_has_none(host: Path, tmp_path: Path) -> None:
    bare_host = tmp_path / "bare-host"
    write(bare_host, "etc/os-release", "ID=rhel\n")
    result = await OsCollector(host_root=bare_host, fallback_root=host).collect()
    assert result.measurement is not None
    release = result.measurement.subtype("release")
    assert release is not None
    assert (release.data["ID"], release.data["source"], release.data["proc-root"]) == (
        "rhel",
        "host",
        str(host / "proc"),
    )
    assert result.measurement.subtype("kmod") is not None


async def test_collector_with_nothing_readable_is_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = await OsCollector(fallback_root=empty).collect()
    assert result.skipped_reason == f"no OS information readable under {empty}"
    assert result.measurement is not None
    assert [s.name for s in result.measurement.subtypes] == ["release"]


def test_host_root_from_text() -> None:
    assert OsCollector(host_root="").host_root is None
    assert OsCollector(host_root="/host").host_root == Path("/host")


def test_choose_root(tmp_path: Path) -> None:
    assert choose_root(None, tmp_path) == (tmp_path, "container", None)
    (tmp_path / "h" / "proc").mkdir(parents=True)
    assert choose_root(tmp_path / "h", Path("/")) == (tmp_path / "h", "host", None)


def test_reference_snapshot_os_subtypes(reference_dir: Path, host: Path) -> None:
    snapshot = snapshot_from_document(yaml.load((reference_dir / "snapshots" / "h100.yaml").read_text()))
    reference = snapshot.measurement("OS")
    assert reference is not None
    ours, _ = collect_os(host)
    assert {s.name for s in ours.subtypes} == {s.name for s in reference.subtypes}
    ref_sysctl = reference.subtype("sysctl")
    assert ref_sysctl is not None
    assert ref_sysctl.data["/proc/sys/kernel/osrelease"] == "6.8.0-1024-aws"  # same key form as ours


def test_read_sysctl_skips_a_directory_it_cannot_list(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Works as root too: make listing one directory fail the way a restricted one would.
    real_scandir = os.scandir
    blocked = host / "proc/sys/sunrpc"

    def scandir(path: Path) -> object:
        if Path(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    readings, notes = read_sysctl(host / "proc")
    assert "/proc/sys/sunrpc/transports/tcp" not in readings
    assert "/proc/sys/vm/swappiness" in readings
    assert notes == ["sysctl: cannot list /proc/sys/sunrpc: Permission denied"]
