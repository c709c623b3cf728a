"""``bundle``'s actions: ``bundle -r …`` renders, ``bundle check|pull|verify …`` do the rest.

``bundle`` is a command with options (``-r``, ``-o``, …) that also takes actions; argparse
has no such shape, so the actions are subparsers made once, here, and ``-r`` is required by
``bundle`` itself instead of by argparse (which would demand it of every action too).
"""

from __future__ import annotations

import argparse
from typing import Any

from eidos_cli.parser import Parser


def bundle_actions(bundle_parser: Parser) -> Any:
    """The subparsers of ``bundle``'s actions (argparse's own type, private): made on first use."""
    if bundle_parser.subcommand_actions:
        return bundle_parser.subcommand_actions[0]
    recipe = next(a for a in bundle_parser.options if a.dest == "recipe")
    recipe.required = False
    render = bundle_parser.get_default("run")

    def run_bundle(args: argparse.Namespace) -> int:
        if args.recipe is None:
            bundle_parser.error("the following arguments are required: -r/--recipe")
        code: int = render(args)
        return code

    bundle_parser.set_defaults(run=run_bundle)
    return bundle_parser.add_subparsers(title="actions", metavar="ACTION")
