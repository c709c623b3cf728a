"""eidos_cli.parser: the parsers record their options and subcommands through public methods."""

from __future__ import annotations

import argparse

import pytest

from eidos_cli.__main__ import build_parser
from eidos_cli.parser import Parser


def every_parser(parser: Parser, path: str = "") -> dict[str, Parser]:
    out = {path: parser}
    for name, child in parser.subcommands.items():
        out.update(every_parser(child, f"{path} {name}".strip()))
    return out


def test_records_arguments_groups_exclusive_groups_and_parents() -> None:
    parent = Parser(add_help=False)
    parent.add_argument("--from-parent")
    p = Parser(prog="x", parents=[parent])
    p.add_argument("--plain")
    group = p.add_argument_group("group")
    group.add_argument("--in-group")
    exclusive = group.add_mutually_exclusive_group()
    exclusive.add_argument("--a")
    exclusive.add_argument("--b")
    p.add_mutually_exclusive_group().add_argument("--c")
    p.add_argument("positional")
    assert p.long_flags() == ["--a", "--b", "--c", "--from-parent", "--help", "--in-group", "--plain"]
    assert "positional" in [a.dest for a in p.options]
    # The wrapped groups are argparse's: they parse and show in the help as before.
    args = p.parse_args(["--in-group", "1", "--a", "2", "--from-parent", "3", "pos"])
    assert (args.in_group, args.a, args.from_parent, args.positional) == ("1", "2", "3", "pos")
    assert "group:\n  --in-group IN_GROUP" in p.format_help()
    with pytest.raises(SystemExit):
        p.parse_args(["--a", "1", "--b", "2", "pos"])


def test_parents_must_record_too() -> None:
    with pytest.raises(TypeError, match="parent parsers must be Parsers"):
        Parser(parents=[argparse.ArgumentParser(add_help=False)])


def test_subcommands_nested() -> None:
    root = Parser(prog="x")
    sub = root.add_subparsers(title="commands")
    one = sub.add_parser("one", aliases=["uno"])
    inner = one.add_subparsers(title="actions")
    inner.add_parser("deep").add_argument("--deep-flag")
    assert sorted(root.subcommands) == ["one", "uno"]
    assert root.subcommands["one"] is root.subcommands["uno"] is one
    assert every_parser(root)["one deep"].long_flags() == ["--deep-flag", "--help"]


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["recipe", "--format", "xml"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "eidos-cli recipe: error: argument -t/--format: invalid choice: 'xml' (choose from 'yaml', 'json', 'table')"
        " (see 'eidos-cli recipe --help')\n"
    )


def test_the_cli_records_exactly_what_argparse_holds() -> None:
    # Cross-check against argparse's private list (tests may look inside): nothing is missed,
    # whether added by a command, an argument group (snapshot's), eidos_agent's flag helpers or a parent.
    for path, parser in every_parser(build_parser()).items():
        private = [a for a in parser._actions if not isinstance(a, argparse._SubParsersAction)]
        assert sorted(map(id, parser.options)) == sorted(map(id, private)), path
        assert sorted(parser.subcommands) == sorted(
            name for a in parser._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices
        ), path


def test_global_flags_before_or_after_the_command() -> None:
    parser = build_parser()
    for argv in (["--debug", "recipe"], ["recipe", "--debug"], ["data", "validate", "d", "--debug"]):
        args = parser.parse_args(argv)
        assert (args.debug, args.log_json) == (True, False), argv
    # A subcommand's parse never resets what the root parsed.
    args = parser.parse_args(["--log-json", "bundle", "check", "d"])
    assert (args.debug, args.log_json) == (False, True)
    assert "global flags:\n  --debug" in parser.subcommands["snapshot"].format_help()
    flags = every_parser(parser)
    assert all({"--debug", "--log-json", "--help"} <= set(p.long_flags()) for p in flags.values())
    assert {"--deploy-agent", "--node-name", "--collectors"} <= set(flags["snapshot"].long_flags())
