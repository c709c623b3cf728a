"""``eidos-cli completion``: the generated bash script completes commands, actions and flags."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from eidos_cli.__main__ import main


def script(capsys: pytest.CaptureFixture[str], shell: str) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def complete(tmp_path: Path, text: str, line: str) -> list[str]:
    """What bash offers after typing ``line`` (the last word is the one being completed)."""
    (tmp_path / "c.bash").write_text(text)
    words = line.split(" ")
    probe = (
        f"source {tmp_path / 'c.bash'}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}; _eidos_cli; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    bash = shutil.which("bash")
    assert bash, "bash is needed to run the completion script"
    done = subprocess.run([bash, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completes_commands_actions_and_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = script(capsys, "bash")
    assert complete(tmp_path, text, "eidos-cli re") == ["recipe"]
    assert complete(tmp_path, text, "eidos-cli data v") == ["validate"]
    assert complete(tmp_path, text, "eidos-cli bundle --dep") == ["--deployer"]
    assert "--snapshot" in complete(tmp_path, text, "eidos-cli recipe --")
    assert complete(tmp_path, text, "eidos-cli recipe --acce") == ["--accelerator", "--accept-excluded-overlays"]
    assert "--layered" in complete(tmp_path, text, "eidos-cli data validate --")


def test_zsh_and_fish_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert script(capsys, "zsh").startswith("#compdef eidos-cli\n")
    fish = script(capsys, "fish")
    assert "complete -c eidos-cli -n '__fish_use_subcommand' -a bundle" in fish
    assert "complete -c eidos-cli -n '__fish_seen_subcommand_from recipe' -l snapshot" in fish
