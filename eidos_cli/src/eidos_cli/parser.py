"""The CLI's argument parsers: argparse, plus a record of what was added to them.

Shell completion (commands/completion.py) and ``bundle check`` need a parser's options and
subcommands; argparse keeps those only in private attributes (``_actions``, and the private
``_SubParsersAction`` class). :class:`Parser` records them itself, through public methods only:
each ``add_argument`` (on the parser, or on an argument group it made), the options of its
``parents``, and each ``add_subparsers`` (a subcommand action's ``choices`` is public).

The global flags (``--debug``, ``--log-json``) are declared once (:func:`add_global_flags`): on
the root parser, and through a parent parser on every subcommand parser (:class:`CommandParser`,
the ``parser_class`` of the root's subcommands and so of theirs).

Usage errors are one ``PROG: error: …`` line naming the (sub)command that rejected the input,
with a "did you mean" for a mistyped flag, subcommand or choice (:func:`closest`). Unknown
arguments are refused by the innermost parser that saw them (argparse would leave them to the
root, which cannot say which command they were meant for). Each parse also records the prog of
the innermost command in the namespace (:data:`COMMAND_PROG`), so a command's own failure can be
reported under its name too.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol

GLOBAL_FLAGS = "global flags"
# Namespace attribute holding the innermost command's prog ("eidos-cli bundle check").
COMMAND_PROG = "command_prog"
# argparse's message for a value outside an argument's choices (3.11: the value as repr()).
_INVALID_CHOICE = re.compile(r"argument (?P<name>.+?): invalid choice: (?P<value>'(?:[^'\\]|\\.)*'|\S+)")


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was most likely meant to be, if any is close enough."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def action_name(action: argparse.Action) -> str:
    """How argparse names an argument in its messages ("-t/--format", "COMMAND", "shell")."""
    if action.option_strings:
        return "/".join(action.option_strings)
    if action.metavar not in (None, argparse.SUPPRESS):
        return str(action.metavar)
    return str(action.dest)


class ArgumentContainer(Protocol):
    """What options can be added to: a parser or one of its argument groups."""

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action: ...


class RecordingGroup:
    """An argument group (or mutually exclusive group) that records what is added to it.

    argparse's group classes are private, so this wraps the group its parser made and passes
    everything else through to it.
    """

    def __init__(self, group: Any, options: list[argparse.Action]) -> None:
        self.group = group
        self.options = options

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action: argparse.Action = self.group.add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    def add_mutually_exclusive_group(self, **kwargs: Any) -> RecordingGroup:
        return RecordingGroup(self.group.add_mutually_exclusive_group(**kwargs), self.options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.group, name)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that records its options and subcommands.

    Usage errors are one line (exit 2) pointing at ``--help`` instead of the whole usage.
    """

    def __init__(self, *, parents: Sequence[argparse.ArgumentParser] = (), **kwargs: Any) -> None:
        self.options: list[argparse.Action] = []
        self.subcommand_actions: list[argparse.Action] = []
        self.recording_groups = False  # argparse makes its own groups in __init__: leave those unwrapped
        for parent in parents:
            if not isinstance(parent, Parser):
                raise TypeError(f"parent parsers must be {Parser.__name__}s, whose options are recorded")
        super().__init__(parents=list(parents), **kwargs)
        for parent in parents:
            assert isinstance(parent, Parser)
            self.options.extend(parent.options)
        self.recording_groups = True

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}{self.suggestion(message)} (see '{self.prog} --help')\n")

    def suggestion(self, message: str) -> str:
        """ " (did you mean X?)" for an invalid choice close to a valid one, else ""."""
        m = _INVALID_CHOICE.match(message)
        if not m:
            return ""
        try:
            value = str(ast.literal_eval(m["value"]))
        except (ValueError, SyntaxError):
            value = m["value"]
        actions = [*self.options, *self.subcommand_actions]
        named = [a for a in actions if a.choices is not None and action_name(a) == m["name"]]
        choices = [str(c) for a in named or actions if a.choices is not None for c in a.choices]
        match = closest(value, choices)
        return f" (did you mean {match}?)" if match else ""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse's, but leftovers are a usage error here, in the parser that did not know them."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self.unrecognized(extras))
        return parsed, extras

    def unrecognized(self, extras: Sequence[str]) -> str:
        """argparse's "unrecognized arguments" message, with the closest flag for each unknown one."""
        flags = {flag for action in self.options for flag in action.option_strings}
        hints: dict[str, str] = {}  # unknown flag → closest known one
        for extra in extras:
            if extra.startswith("-") and len(extra) > 1:
                flag = extra.split("=", 1)[0]
                match = closest(flag, flags)
                if match:
                    hints[flag] = match
        message = f"unrecognized arguments: {' '.join(extras)}"
        if len(hints) == 1:
            return f"{message} (did you mean {next(iter(hints.values()))}?)"
        if hints:
            return f"{message} (did you mean {', '.join(f'{m} for {f}' for f, m in hints.items())}?)"
        return message

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    # The overrides below return argparse's private group and subparsers types; Any keeps their
    # names out of our code (callers use them as argparse documents them).
    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        group = super().add_argument_group(*args, **kwargs)
        return RecordingGroup(group, self.options) if self.recording_groups else group

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        group = super().add_mutually_exclusive_group(**kwargs)
        return RecordingGroup(group, self.options) if self.recording_groups else group

    def add_subparsers(self, **kwargs: Any) -> Any:
        self.recording_groups = False  # the group argparse makes for the subcommands is its own
        try:
            action = super().add_subparsers(**kwargs)
        finally:
            self.recording_groups = True
        self.subcommand_actions.append(action)
        return action

    @property
    def subcommands(self) -> dict[str, Parser]:
        """Subcommand name (aliases included) → its parser."""
        out: dict[str, Parser] = {}
        for action in self.subcommand_actions:
            choices = action.choices
            assert isinstance(choices, Mapping)
            for name, parser in choices.items():
                if not isinstance(parser, Parser):
                    raise TypeError(f"subcommand {name!r} was not made by a {Parser.__name__}")
                out[name] = parser
        return out

    def long_flags(self) -> list[str]:
        """Every ``--flag`` this parser accepts, sorted."""
        return sorted({flag for action in self.options for flag in action.option_strings if flag.startswith("--")})


def add_global_flags(container: ArgumentContainer, *, default: object) -> None:
    container.add_argument("--debug", action="store_true", default=default, help="debug logging (env EIDOS_DEBUG)")
    container.add_argument(
        "--log-json", action="store_true", default=default, help="JSON log lines on stderr (env EIDOS_LOG_JSON)"
    )


def _command_flags() -> Parser:
    parent = Parser(add_help=False)
    # SUPPRESS: a subcommand's parse never overwrites what the root parsed (eidos-cli --debug recipe).
    add_global_flags(parent.add_argument_group(GLOBAL_FLAGS), default=argparse.SUPPRESS)
    return parent


COMMAND_FLAGS = _command_flags()


class CommandParser(Parser):
    """A subcommand's parser: the global flags are accepted after the command too.

    It also records its prog in the namespace (:data:`COMMAND_PROG`); a nested command's parse
    runs after its parent's defaults are set, so the innermost one's prog is what stays.
    """

    def __init__(self, *, parents: Sequence[argparse.ArgumentParser] = (), **kwargs: Any) -> None:
        super().__init__(parents=[*parents, COMMAND_FLAGS], **kwargs)
        self.set_defaults(**{COMMAND_PROG: self.prog})
