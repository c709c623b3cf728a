"""``eidos-cli``: parse the command line, set up logging, run one command, map errors to exit codes.

Exit codes: 0 ok, 1 nothing collected (``snapshot`` with every collector skipped), 2 bad input
(argparse's usage errors included), 3 not found, 4 forbidden, 5 timeout, 6 unavailable,
7 validation failed, 8 internal.

A failure is one ``eidos-cli COMMAND: error: …`` line on stderr, like a usage error; with
``--log-json`` it is a JSON log record (``msg`` "command failed", ``command``, ``error``) instead.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from eidos_cli import logs
from eidos_cli.commands import COMMANDS, bundle_check, bundle_pull, bundle_verify
from eidos_cli.options import env_bool
from eidos_cli.parser import COMMAND_PROG, GLOBAL_FLAGS, CommandParser, Parser, add_global_flags
from eidos_core import __version__
from eidos_core.errors import EidosError

log = logging.getLogger("eidos_cli")

INTERNAL_ERROR = 8


def build_parser() -> Parser:
    parser = Parser(
        prog="eidos-cli",
        description="Eidos: snapshot a GPU cluster, resolve its recipe, validate it, and bundle it for deployment.",
        epilog="Run 'eidos-cli COMMAND --help' for a command's flags and an example.",
    )
    parser.add_argument("-v", "--version", action="version", version=f"eidos-cli version {__version__}")
    # Subcommands (and theirs: argparse's default parser_class is the parent's class) are
    # CommandParsers: they take the global flags too.
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=CommandParser)
    for command in COMMANDS:
        command.register(sub)
    bundle_check.attach(sub.choices["bundle"])  # `bundle check DIR` beside `bundle -r …`
    bundle_pull.attach(sub.choices["bundle"])  # `bundle pull oci://… DIR`
    bundle_verify.attach(sub.choices["bundle"])  # `bundle verify DIR|oci://… --key PUB`
    add_global_flags(parser.add_argument_group(GLOBAL_FLAGS), default=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or env_bool(os.environ, "EIDOS_DEBUG")
    json_logs = args.log_json or env_bool(os.environ, "EIDOS_LOG_JSON")
    logs.setup(debug=debug, json_logs=json_logs)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    prog: str = getattr(args, COMMAND_PROG, parser.prog)

    def failed(message: str, *, trace: bool = False) -> None:
        logs.command_error(prog, message, json_logs=json_logs, trace=trace)

    log.debug("starting", extra={"program": "eidos-cli", "python": sys.version.split()[0]})
    try:
        code: int = args.run(args)
    except EidosError as exc:
        failed(exc.message)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`… | head`): what it wanted it got; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        failed("interrupted")
        return 130
    except Exception as exc:  # a bug: one line, and the trace with --debug
        failed(f"internal error: {type(exc).__name__}: {exc}", trace=debug)
        return INTERNAL_ERROR
    return code


if __name__ == "__main__":
    sys.exit(main())
