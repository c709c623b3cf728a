"""Where recipe data comes from. Every source yields validated, immutable ``RecipeStore``s.

``embedded`` (the default), ``directory`` (``RECIPE_DATA_PATH`` / ``--data DIR``) and
``configmap`` (``RECIPE_CONFIGMAP``) implement :class:`RecipeSource`.
"""

from eidos_core.sources.base import RecipeSource, ReloadEvent

__all__ = ["RecipeSource", "ReloadEvent"]
