"""Resolving a recipe against more than criteria.

:mod:`.snapshot_mode` (``eidos-cli recipe --snapshot``): the recipe engine (:mod:`eidos_core.recipe`)
with each matched overlay's constraints checked against a cluster snapshot
(:mod:`eidos_core.validate`), leaving out the overlays the cluster does not satisfy. It sits
above both, so the engine stays a leaf that knows nothing of snapshots or validation.
"""
