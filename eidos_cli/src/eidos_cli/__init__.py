"""eidos-cli: a thin command layer over eidos_core. ``main`` parses flags and dispatches to one
module per command under ``eidos_cli.commands``."""
