"""``eidos-cli completion bash|zsh|fish``: a shell completion script, generated from the parser.

The script knows the commands, their actions (``data validate``), every command's flags and the
values a flag takes (``--gpu h100``, ``-t table``, ``--deployer argocd``, ``--cleanup=false``),
so it never falls behind the CLI: it is built at run time from what the parsers recorded
(``Parser.subcommands``, ``Parser.options``), the same tree the CLI parses with. A flag's values
are its argparse ``choices``; flags that check their value themselves (criteria matched in any
case, a comma list of collectors) take theirs from :data:`DECLARED`, the very tuples the CLI
checks against. A flag that takes some other value (a file, a URI) completes file names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from eidos_agent.collectors import NAMES as COLLECTORS
from eidos_cli.bundle import DEPLOYERS
from eidos_cli.options import parse_bool
from eidos_cli.parser import Parser
from eidos_core.recipe.criteria import ACCELERATORS, INTENTS, OS_TYPES, SERVICES

SHELLS = ("bash", "zsh", "fish")

# Values of flags without argparse ``choices``, by destination: the tuples their parsing checks.
DECLARED: Mapping[str, tuple[str, ...]] = {
    "service": SERVICES,
    "accelerator": ACCELERATORS,
    "intent": INTENTS,
    "os": OS_TYPES,
    "deployer": DEPLOYERS,
    "collectors": COLLECTORS,
}
BOOLEANS = ("true", "false")

EXAMPLE = """examples:
  eidos-cli completion bash > /etc/bash_completion.d/eidos-cli
  eidos-cli completion zsh > "${fpath[1]}/_eidos-cli"
  eidos-cli completion fish > ~/.config/fish/completions/eidos-cli.fish"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print a completion script for bash, zsh or fish.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(run=run)


@dataclass(frozen=True, slots=True)
class Option:
    """A flag that takes a value: ``values`` empty means any (a file name, say)."""

    flags: tuple[str, ...]
    values: tuple[str, ...]
    optional: bool  # ``--cleanup`` alone is fine; ``--cleanup=false`` gives the value


@dataclass(frozen=True, slots=True)
class Command:
    """What to offer at one command path: its words (subcommands, positional choices), flags,
    and the flags that take a value."""

    words: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)


def option_values(action: argparse.Action) -> tuple[str, ...]:
    if action.choices is not None:
        return tuple(str(c) for c in action.choices)
    if action.type is parse_bool:
        return BOOLEANS
    return DECLARED.get(action.dest, ())


def command(parser: Parser) -> Command:
    out = Command(words=sorted(parser.subcommands), flags=parser.long_flags())
    for action in parser.options:
        if not action.option_strings:  # a positional: offer its choices, if it has any
            if action.choices is not None:
                out.words.extend(str(c) for c in action.choices)
        elif action.nargs != 0:  # store_true, help, version, … take no value
            out.options.append(Option(tuple(action.option_strings), option_values(action), action.nargs == "?"))
    return out


def commands_of(parser: Parser) -> dict[str, Command]:
    """Command path ("" for the root, "data", "data validate") → what to complete there."""
    out: dict[str, Command] = {}

    def walk(p: Parser, path: str) -> None:
        out[path] = command(p)
        for name, child in p.subcommands.items():
            walk(child, f"{path} {name}".strip())

    walk(parser, "")
    return out


def _bash_value_cases(commands: dict[str, Command]) -> str:
    cases = []
    for path, cmd in sorted(commands.items()):
        for opt in cmd.options:
            patterns = "|".join(f'"{path}|{flag}"' for flag in opt.flags)
            values = " ".join(opt.values)
            if opt.optional:  # values after '=', values and the usual words after a space
                action = (
                    f'words="{values}"; [[ -n "$eq" ]] && {{ COMPREPLY=($(compgen -W "$words" -- "$cur")); return 0; }}'
                )
            elif values:
                action = f'COMPREPLY=($(compgen -W "{values}" -- "$cur")); return 0'
            else:  # any value: nothing offered, so -o default completes file names
                action = "COMPREPLY=(); return 0"
            cases.append(f"        {patterns}) {action} ;;")
    return "\n".join(cases)


def bash(commands: dict[str, Command]) -> str:
    cases = "\n".join(
        f'        "{path}") words="$words {" ".join(c.words + c.flags)}" ;;' for path, c in sorted(commands.items())
    )
    return f"""# bash completion for eidos-cli (generated by `eidos-cli completion bash`)
_eidos_cli() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" eq="" path="" word words=""
    (( COMP_CWORD > 1 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    # --flag=value: bash splits the word at '=' (COMP_WORDBREAKS)
    if [[ "$cur" == "=" ]]; then
        cur="" eq=1
    elif [[ "$prev" == "=" ]] && (( COMP_CWORD > 2 )); then
        prev="${{COMP_WORDS[COMP_CWORD-2]}}" eq=1
    fi
    local known=" {" ".join(sorted(p for p in commands if p))} "
    for word in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        [[ "$known" == *" ${{path:+$path }}$word "* ]] && path="${{path:+$path }}$word"
    done
    case "$path|$prev" in
{_bash_value_cases(commands)}
    esac
    [[ -n "$eq" ]] && {{ COMPREPLY=(); return 0; }}
    case "$path" in
{cases}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _eidos_cli eidos-cli
"""


def zsh(commands: dict[str, Command]) -> str:
    return "#compdef eidos-cli\nautoload -U +X bashcompinit && bashcompinit\n" + bash(commands)


def _fish_flag(opt_flags: tuple[str, ...] | list[str]) -> str:
    parts = [f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}" for f in opt_flags]
    return " ".join(parts)


def fish(commands: dict[str, Command]) -> str:
    lines = ["# fish completion for eidos-cli (generated by `eidos-cli completion fish`)", "complete -c eidos-cli -f"]
    for path, cmd in sorted(commands.items()):
        if path:
            words = path.split()
            condition = f"__fish_seen_subcommand_from {words[-1]}"
        else:
            condition = "__fish_use_subcommand"
        for word in cmd.words:
            lines.append(f"complete -c eidos-cli -n '{condition}' -a {word}")
        with_values = {flag for opt in cmd.options for flag in opt.flags}
        for flag in cmd.flags:
            if flag not in with_values:
                lines.append(f"complete -c eidos-cli -n '{condition}' -l {flag[2:]}")
        for opt in cmd.options:
            # -x: a value from the list only; -r -F: any value, file names offered.
            takes = f"-x -a '{' '.join(opt.values)}'" if opt.values else "-r -F"
            lines.append(f"complete -c eidos-cli -n '{condition}' {_fish_flag(opt.flags)} {takes}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from eidos_cli.__main__ import build_parser

    commands = commands_of(build_parser())
    script = {"bash": bash, "zsh": zsh, "fish": fish}[args.shell](commands)
    sys.stdout.write(script)
    return 0
