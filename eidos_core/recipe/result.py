"""The ``recipeResult`` document: :class:`Recipe` is its declaration,
these are the ways in and out (field names and order are the contract)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from eidos_core.codec import decode, encode
from eidos_core.recipe.model import RESULT_KIND, Recipe

__all__ = ["RESULT_KIND", "recipe_from_document", "recipe_to_document", "to_json"]


def recipe_from_document(doc: Any, *, source: str = "recipe") -> Recipe:
    """A recipeResult (ours or the Go reference's); the first problem raises
    :class:`InvalidRequestError` naming ``source``, the line and the field, e.g.
    ``componentRefs[2].overrides``. Read in raw mode, string fields keep their text
    (``version: 1.10`` stays ``"1.10"``)."""
    return decode(Recipe, doc, source=source)


def recipe_to_document(recipe: Recipe, version: str) -> dict[str, Any]:
    """The document of ``recipe`` as produced by ``version``."""
    return encode(replace(recipe, version=version))


def to_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
