"""``eidos-cli completion``: the generated bash script completes commands, actions, flags and
the values a flag takes, run in a real bash; the scripts come from the real console script too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eidos_cli.__main__ import build_parser, main
from eidos_cli.commands.completion import commands_of
from eidos_core.recipe.criteria import ACCELERATORS

CLI = Path(sys.executable).with_name("eidos-cli")


def script(capsys: pytest.CaptureFixture[str], shell: str) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def complete(tmp_path: Path, text: str, line: str) -> list[str]:
    """What bash offers after typing ``line`` (the last word is the one being completed)."""
    (tmp_path / "c.bash").write_text(text)
    words = line.split(" ")  # "--flag = v": bash splits "--flag=v" at the "=" (COMP_WORDBREAKS)
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
    assert "complete -c eidos-cli -n '__fish_seen_subcommand_from recipe' -s s -l snapshot -r -F" in fish


@pytest.fixture(scope="module")
def bash_script() -> str:
    done = subprocess.run([str(CLI), "completion", "bash"], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("eidos-cli recipe --gpu ", list(ACCELERATORS)),
        ("eidos-cli recipe --accelerator h", ["h100", "h200"]),
        ("eidos-cli recipe --service ", ["aks", "eks", "gke", "oke"]),
        ("eidos-cli recipe --intent ", ["inference", "training"]),
        ("eidos-cli recipe --os ", ["amazonlinux", "cos", "rhel", "ubuntu"]),
        ("eidos-cli recipe --gpu = g", ["gb200", "gb300"]),
        ("eidos-cli bundle --deployer ", ["argocd", "helm"]),
        ("eidos-cli bundle -d a", ["argocd"]),
        ("eidos-cli recipe -t ", ["json", "table", "yaml"]),
        ("eidos-cli validate --format t", ["table"]),
        ("eidos-cli bundle check -t ", ["json", "table", "yaml"]),
        ("eidos-cli snapshot --collectors ", ["gpu", "k8s", "os", "systemd"]),
        ("eidos-cli snapshot --cleanup = ", ["false", "true"]),
        ("eidos-cli validate --fail-on-error = f", ["false"]),
        ("eidos-cli completion z", ["zsh"]),
        # a flag that takes a file or URI offers nothing, so bash falls back to file names
        ("eidos-cli recipe -o ", []),
        ("eidos-cli validate --recipe ", []),
    ],
)
def test_bash_completes_flag_values(bash_script: str, tmp_path: Path, line: str, expected: list[str]) -> None:
    assert sorted(complete(tmp_path, bash_script, line)) == sorted(expected)


def test_an_optional_value_flag_offers_its_values_and_the_next_flags(bash_script: str, tmp_path: Path) -> None:
    offered = complete(tmp_path, bash_script, "eidos-cli snapshot --cleanup ")
    assert {"true", "false", "--deploy-agent", "--output"} <= set(offered)


def test_every_flag_value_list_is_complete(bash_script: str, tmp_path: Path) -> None:
    # Each flag with known values offers exactly those values, in every command that has it.
    commands = commands_of(build_parser())
    checked = 0
    for path, command in commands.items():
        for option in command.options:
            if option.values and not option.optional:
                line = f"eidos-cli {path} {option.flags[-1]} ".replace("  ", " ")
                assert sorted(complete(tmp_path, bash_script, line)) == sorted(option.values), line
                checked += 1
    assert checked >= 10


def test_zsh_and_fish_offer_values_too() -> None:
    zsh = subprocess.run([str(CLI), "completion", "zsh"], capture_output=True, text=True, timeout=60, check=True)
    assert '"recipe|--accelerator"|"recipe|--gpu")' in zsh.stdout  # the bash function, through bashcompinit
    fish = subprocess.run([str(CLI), "completion", "fish"], capture_output=True, text=True, timeout=60, check=True)
    lines = fish.stdout.splitlines()
    recipe = "complete -c eidos-cli -n '__fish_seen_subcommand_from recipe'"
    assert f"{recipe} -l accelerator -l gpu -x -a 'a100 b200 gb200 gb300 h100 h200 l40'" in lines
    assert "complete -c eidos-cli -n '__fish_seen_subcommand_from bundle' -s d -l deployer -x -a 'argocd helm'" in lines
    assert (
        "complete -c eidos-cli -n '__fish_seen_subcommand_from recipe' -s t -l format -x -a 'yaml json table'" in lines
    )
    assert "complete -c eidos-cli -n '__fish_seen_subcommand_from recipe' -s o -l output -r -F" in lines
