"""The recipe engine: pure, synchronous functions over immutable recipe data — a leaf that
imports only :mod:`eidos_core.codec` below it (tests/unit/test_layers.py).

``model`` declares the data and the documents (recipe data overlays, the registry, the
``recipeResult``); ``criteria`` parses what a user asks for; ``match`` picks and orders
overlays; ``merge`` folds them over the base; ``order`` checks dependencies and computes the
deployment order; ``build`` runs the whole pipeline; ``result`` reads and writes the
``recipeResult`` document. Snapshot mode, which also needs snapshots and constraint evaluation,
is :mod:`eidos_core.resolve.snapshot_mode`.
"""
