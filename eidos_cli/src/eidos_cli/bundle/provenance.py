"""What a bundle is and how it was made: an in-toto v1 Statement with a SLSA provenance v1 predicate.

:func:`statement` is pure: the bundle's files, the recipe, the recipe data's source and version,
the bundle options and the Eidos version in, the Statement out. No clock, no host, no random:
the same inputs give the same bytes (:func:`statement_bytes`, JSON with sorted keys and no
blanks); times and an invocation id appear only when the caller passes them.

* ``subject``: every file of the bundle — ``recipe.yaml`` and ``checksums.txt`` included —
  sorted by path, each named by its path relative to the bundle root with its sha256. The
  signed envelope (:data:`ENVELOPE_FILE`) is the one file that is not a subject: it signs them.
* ``predicate.buildDefinition``: ``buildType`` :data:`BUILD_TYPE`; ``externalParameters`` the
  options a user chose (where the recipe came from, deployer, ``--set``, ``--disable``, node
  selectors and tolerations, Argo CD repository); ``internalParameters`` what Eidos resolved
  (the recipe's criteria, producer version and applied overlays; the recipe data's source and
  content version); ``resolvedDependencies`` the recipe, by its sha256 as written into the bundle.
* ``predicate.runDetails.builder``: ``https://eidos.nvidia.com/<builder>@v<version>`` (builder
  ``eidos-cli`` or ``eidosd``), the Eidos version also under ``version.eidos``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from eidos_cli.bundle.checksums import CHECKSUMS_FILE
from eidos_cli.bundle.paths import RECIPE_FILE
from eidos_cli.bundle.plan import BundleOptions
from eidos_cli.bundle.scheduling import NodeGroup
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import Recipe, RecipeStore

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUILD_TYPE = "https://eidos.nvidia.com/bundle/v1"
BUILDER_PREFIX = "https://eidos.nvidia.com/"
# The DSSE envelope: one JSON object on one line (the SLSA ``.intoto.jsonl`` convention). It
# signs the Statement, whose subjects include checksums.txt, so it cannot be listed in either.
ENVELOPE_FILE = "provenance.intoto.jsonl"


@dataclass(frozen=True, slots=True)
class ProvenanceInputs:
    """Everything the Statement says besides the files themselves.

    ``recipe_uri`` is where the recipe was read from (``-r``; empty for a request body);
    credentials in it are dropped. ``data_source``/``data_version`` are the recipe data's
    ``RecipeStore.source`` and ``RecipeStore.version`` (a content hash of the data set).
    """

    recipe: Recipe
    options: BundleOptions = field(default_factory=BundleOptions)
    recipe_uri: str = ""
    data_source: str = ""
    data_version: str = ""
    builder: str = "eidos-cli"
    invocation_id: str = ""
    started_on: datetime | None = None
    finished_on: datetime | None = None

    @classmethod
    def of(
        cls, recipe: Recipe, store: RecipeStore, options: BundleOptions, *, recipe_uri: str = "", **extra: Any
    ) -> ProvenanceInputs:
        """The inputs of a bundle rendered from ``recipe`` over ``store`` with ``options``."""
        return cls(
            recipe=recipe,
            options=options,
            recipe_uri=recipe_uri,
            data_source=store.source,
            data_version=store.version,
            **extra,
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def subjects(files: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """One in-toto ResourceDescriptor per file, sorted by path."""
    return [{"name": path, "digest": {"sha256": sha256_hex(files[path])}} for path in sorted(files)]


def _without_credentials(uri: str) -> str:
    """``uri`` with any ``user:password@`` taken out (a recipe URL may carry a token)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("provenance timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_group(group: NodeGroup) -> dict[str, Any]:
    return {
        "nodeSelector": dict(group.node_selector),
        # None: each chart keeps its own tolerations.
        "tolerations": None if group.tolerations is None else [dict(t) for t in group.tolerations],
    }


def external_parameters(inputs: ProvenanceInputs) -> dict[str, Any]:
    """The options a user chose, as the CLI's flags (and eidosd's query parameters) name them."""
    options = inputs.options
    out: dict[str, Any] = {}
    if inputs.recipe_uri:
        out["recipe"] = _without_credentials(inputs.recipe_uri)
    out["deployer"] = options.deployer
    if options.repo:
        out["repo"] = options.repo
    out["set"] = [o.entry for o in options.overrides]
    out["disable"] = list(options.disabled)
    out["nodeScheduling"] = {
        "system": _node_group(options.scheduling.system),
        "accelerated": _node_group(options.scheduling.accelerated),
    }
    return out


def internal_parameters(inputs: ProvenanceInputs) -> dict[str, Any]:
    """What Eidos resolved: the recipe's criteria and metadata, the recipe data's version."""
    document = inputs.recipe.to_document()
    metadata = document.get("metadata") or {}
    recipe: dict[str, Any] = {"criteria": document.get("criteria")}
    if metadata.get("version"):
        recipe["version"] = metadata["version"]
    recipe["appliedOverlays"] = list(metadata.get("appliedOverlays") or [])
    out: dict[str, Any] = {"recipe": recipe}
    data = {k: v for k, v in (("source", inputs.data_source), ("version", inputs.data_version)) if v}
    if data:
        out["recipeData"] = data
    return out


def statement(files: Mapping[str, bytes], inputs: ProvenanceInputs) -> dict[str, Any]:
    """The in-toto v1 Statement for a bundle's ``files`` (relative path → bytes)."""
    if ENVELOPE_FILE in files:
        raise InvalidRequestError(f"the bundle already has a {ENVELOPE_FILE}: a bundle is signed once")
    if CHECKSUMS_FILE not in files:
        raise InvalidRequestError(f"the bundle has no {CHECKSUMS_FILE}: render it before signing it")
    version = inputs.options.bundler_version
    recipe_dependency: dict[str, Any] = {"name": RECIPE_FILE}
    if inputs.recipe_uri:
        recipe_dependency["uri"] = _without_credentials(inputs.recipe_uri)
    if RECIPE_FILE in files:
        recipe_dependency["digest"] = {"sha256": sha256_hex(files[RECIPE_FILE])}
    run_details: dict[str, Any] = {
        "builder": {"id": f"{BUILDER_PREFIX}{inputs.builder}@v{version}", "version": {"eidos": version}},
    }
    metadata: dict[str, str] = {}
    if inputs.invocation_id:
        metadata["invocationId"] = inputs.invocation_id
    if inputs.started_on is not None:
        metadata["startedOn"] = _timestamp(inputs.started_on)
    if inputs.finished_on is not None:
        metadata["finishedOn"] = _timestamp(inputs.finished_on)
    if metadata:
        run_details["metadata"] = metadata
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(files),
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external_parameters(inputs),
                "internalParameters": internal_parameters(inputs),
                "resolvedDependencies": [recipe_dependency] if len(recipe_dependency) > 1 else [],
            },
            "runDetails": run_details,
        },
    }


def canonical_json(document: Any) -> bytes:
    """Sorted keys, no blanks, UTF-8: equal documents, equal bytes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def statement_bytes(files: Mapping[str, bytes], inputs: ProvenanceInputs) -> bytes:
    """The Statement as the DSSE payload signs it."""
    return canonical_json(statement(files, inputs))
