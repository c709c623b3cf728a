"""The recipe engine: pure, synchronous functions over immutable recipe data.

``criteria`` parses what a user asks for; ``match`` picks and orders overlays; ``merge`` folds
them over the base; ``order`` checks dependencies and computes the deployment order;
``build`` runs the whole pipeline; ``result`` renders the ``recipeResult`` document.
"""
