"""Eidos core: the recipe engine, recipe data sources, the snapshot model and I/O shared by
eidosd, eidos-agent and eidos-cli.

Pure logic (criteria, matching, merging, ordering) lives in :mod:`eidos_core.recipe`; the
recipe data loader in :mod:`eidos_core.data`; where data comes from in :mod:`eidos_core.sources`.
"""

__version__ = "0.1.0"

API_VERSION = "eidos.nvidia.com/v1alpha1"
