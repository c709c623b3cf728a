"""Recipe data sets: reading files (``files``), decoding documents (``decode``) and assembling
a validated :class:`~eidos_core.recipe.model.RecipeStore` (``load``)."""
