"""Eidos core: the recipe engine, recipe data sources, the snapshot model and I/O shared by
eidosd, eidos-agent and eidos-cli.

Layers, each importing only those before it (tests/unit/test_layers.py checks):

* :mod:`eidos_core.yaml`, :mod:`eidos_core.errors` — the one loader, the one error hierarchy;
* :mod:`eidos_core.codec` — the one reader/writer of wire documents, driven by declarations;
* :mod:`eidos_core.recipe` — the pure engine (criteria, matching, merging, ordering) and the
  declarations of recipe data and recipeResult documents;
* :mod:`eidos_core.snapshot`, :mod:`eidos_core.validate` — snapshots, constraint evaluation;
* :mod:`eidos_core.data` — the recipe data loader; :mod:`eidos_core.resolve` — snapshot mode;
* :mod:`eidos_core.sources`, :mod:`eidos_core.io`, :mod:`eidos_core.kube` — where data comes
  from and goes to.
"""

__version__ = "0.1.0"

API_VERSION = "eidos.nvidia.com/v1alpha1"
