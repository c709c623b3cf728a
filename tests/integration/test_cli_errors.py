"""Errors through the real ``eidos-cli`` console script: one ``eidos-cli COMMAND: error: …`` line
naming the command, for usage errors and command failures alike; "did you mean" for a
mistyped flag, command or choice; JSON records under ``--log-json``; a missing kubeconfig named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eidos_cli.parser import Parser

CLI = Path(sys.executable).with_name("eidos-cli")


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EIDOS_", "KUBERNETES_"))}
    return subprocess.run(
        [str(CLI), *argv], capture_output=True, text=True, timeout=60, env={**base, **(env or {})}, check=False
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["recipe", "--accelerater", "h100"],
            "eidos-cli recipe: error: unrecognized arguments: --accelerater h100 (did you mean --accelerator?)"
            " (see 'eidos-cli recipe --help')",
        ),
        (
            ["recipe", "--gpu=h100", "--intnet=training"],
            "eidos-cli recipe: error: unrecognized arguments: --intnet=training (did you mean --intent?)"
            " (see 'eidos-cli recipe --help')",
        ),
        (
            ["data", "vaidate", "d"],
            "eidos-cli data: error: argument ACTION: invalid choice: 'vaidate' (choose from 'validate', "
            "'configmap', 'coverage') (did you mean validate?) (see 'eidos-cli data --help')",
        ),
        (
            ["bundle", "check", "d", "--strictt"],
            "eidos-cli bundle check: error: unrecognized arguments: --strictt (did you mean --strict?)"
            " (see 'eidos-cli bundle check --help')",
        ),
        (
            ["validate", "-r", "r", "-s", "s", "-t", "tabel"],
            "eidos-cli validate: error: argument -t/--format: invalid choice: 'tabel' (choose from 'yaml', "
            "'json', 'table') (did you mean table?) (see 'eidos-cli validate --help')",
        ),
        (
            ["--degub", "recipe"],
            "eidos-cli: error: unrecognized arguments: --degub (did you mean --debug?) (see 'eidos-cli --help')",
        ),
    ],
)
def test_usage_errors_name_the_command_and_suggest(argv: list[str], expected: str) -> None:
    proc = cli(*argv)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert one_error_line(proc) == expected


def test_an_unknown_command_suggests_the_closest() -> None:
    proc = cli("recipy", "--gpu", "h100")
    assert proc.returncode == 2
    line = one_error_line(proc)  # the list of commands grows; its head and the hint are fixed
    assert line.startswith("eidos-cli: error: argument COMMAND: invalid choice: 'recipy' (choose from 'snapshot', ")
    assert line.endswith(" (did you mean recipe?) (see 'eidos-cli --help')")


def test_nothing_close_suggests_nothing() -> None:
    proc = cli("recipe", "--zzzzzz", "stray")
    assert proc.returncode == 2
    assert one_error_line(proc) == (
        "eidos-cli recipe: error: unrecognized arguments: --zzzzzz stray (see 'eidos-cli recipe --help')"
    )


def test_several_unknown_flags_each_get_a_suggestion() -> None:
    proc = cli("recipe", "--accelerater", "h100", "--intnet", "training")
    assert proc.returncode == 2
    assert "(did you mean --accelerator for --accelerater, --intent for --intnet?)" in one_error_line(proc)


def test_a_command_failure_is_an_error_line_naming_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    proc = cli("validate", "-r", str(missing), "-s", str(missing))
    assert proc.returncode == 3
    assert (
        one_error_line(proc)
        == f'eidos-cli validate: error: failed to load recipe from "{missing}": {missing}: no such file'
    )


def test_a_nested_command_failure_names_the_whole_command(tmp_path: Path) -> None:
    proc = cli("bundle", "check", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert one_error_line(proc).startswith("eidos-cli bundle check: error: ")


def test_log_json_keeps_the_failure_a_json_record(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    proc = cli("validate", "-r", str(missing), "-s", str(missing), "--log-json")
    assert proc.returncode == 3
    record = json.loads(one_error_line(proc))
    assert record["level"] == "ERROR" and record["msg"] == "command failed"
    assert record["command"] == "eidos-cli validate"
    assert record["error"] == f'failed to load recipe from "{missing}": {missing}: no such file'


def test_debug_still_ends_with_the_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    proc = cli("validate", "-r", str(missing), "-s", str(missing), "--debug")
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[-1].startswith("eidos-cli validate: error: failed to load recipe")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["snapshot", "--collectors", "k8s", "-o", "/dev/null"], 1),  # its only collector skipped: nothing collected
        (["validate", "-r", "cm://ns/recipe", "-s", "cm://ns/snapshot"], 3),  # a file named by $KUBECONFIG: not found
    ],
)
def test_missing_kubeconfig_is_named_as_missing(argv: list[str], code: int, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config"
    proc = cli(*argv, env={"KUBECONFIG": str(missing), "HOME": str(tmp_path)})
    assert proc.returncode == code, proc.stderr
    text = proc.stderr
    assert f"kubeconfig {str(missing)!r} does not exist" in text, text
    assert "invalid" not in text and "not usable" not in text


def test_no_kubeconfig_anywhere_names_the_default_path(tmp_path: Path) -> None:
    proc = cli("validate", "-r", "cm://ns/recipe", "-s", "cm://ns/snapshot", env={"HOME": str(tmp_path)})
    assert proc.returncode == 6
    line = one_error_line(proc)
    assert str(tmp_path / ".kube" / "config") in line and "does not exist" in line, line
    assert "not running in a cluster" in line


def test_an_internal_error_is_one_line_and_the_trace_comes_with_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bug cannot be provoked through the console script on purpose: break one command in-process.
    from eidos_cli import __main__ as cli_main

    def broken(args: object) -> int:
        raise RuntimeError("kaboom")

    def parser() -> Parser:
        root = build()
        root.subcommands["validate"].set_defaults(run=broken)
        return root

    build = cli_main.build_parser
    monkeypatch.setattr(cli_main, "build_parser", parser)
    assert cli_main.main(["validate", "-r", "x", "-s", "y"]) == 8
    assert capsys.readouterr().err == "eidos-cli validate: error: internal error: RuntimeError: kaboom\n"
    assert cli_main.main(["validate", "-r", "x", "-s", "y", "--debug"]) == 8
    err = capsys.readouterr().err.splitlines()
    assert "Traceback (most recent call last):" in err
    assert err[-1] == "eidos-cli validate: error: internal error: RuntimeError: kaboom"


def test_kubeconfig_tilde_is_expanded_and_an_empty_one_named(tmp_path: Path) -> None:
    """``KUBECONFIG='~/kc'`` (quoted, so the shell left the ~) is the file under $HOME, as the
    Kubernetes client reads it; an empty file is named as empty, not a TypeError."""
    (tmp_path / "kc").write_text("")
    proc = cli(
        "validate", "-r", "cm://ns/recipe", "-s", "cm://ns/snapshot", env={"KUBECONFIG": "~/kc", "HOME": str(tmp_path)}
    )
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert f"kubeconfig {str(tmp_path / 'kc')!r} is empty" in line, line
    assert "does not exist" not in line and "NoneType" not in line
