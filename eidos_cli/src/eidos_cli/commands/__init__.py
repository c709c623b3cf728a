"""One module per ``eidos-cli`` command; each exposes ``register(subparsers)`` and ``run(args)``."""

from __future__ import annotations

from types import ModuleType

from eidos_cli.commands import bundle, completion, data, diff, query, recipe, snapshot, validate

# Help lists commands in this order: the workflow's order.
COMMANDS: tuple[ModuleType, ...] = (snapshot, recipe, query, validate, bundle, diff, data, completion)
