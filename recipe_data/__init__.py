"""Eidos' embedded recipe data (package data of eidos-core, imported as eidos_core.recipe_data)."""
