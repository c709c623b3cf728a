"""Which names and relative paths may appear in a bundle.

Component names become directory names (Argo CD) and Chart.yaml text, and manifest paths
become file names under ``templates/``; a recipe is user input, so both are checked here
before anything is rendered, and ``writer`` checks every path again before writing.
"""

from __future__ import annotations

import re

from eidos_core.errors import InvalidRequestError

# The recipe a bundle was made from, at its top level (bundler writes it; provenance, the
# readmes and `diff oci://…` read it).
RECIPE_FILE = "recipe.yaml"

# Letters, digits, '.', '_', '-', starting and ending with a letter or digit: never '..',
# never a separator, always a valid directory name and plain YAML text.
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_MAX_NAME = 253


def safe_name(name: str, *, what: str = "component name") -> str:
    """``name`` itself when it can be a directory name and Chart.yaml text; else an error."""
    if not _NAME.fullmatch(name) or len(name) > _MAX_NAME:
        raise InvalidRequestError(
            f"{what} {name!r} cannot be used in a bundle: use letters, digits, '.', '_' and '-' "
            "(starting and ending with a letter or digit)",
            details={"name": name},
        )
    return name


# re's \s is str.isspace(); one regex scan instead of a Python loop per character (bundles of
# 40,000 paths).
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def check_relative(path: str, *, what: str = "path") -> str:
    """A relative, normalised ``/``-separated path that cannot leave its root; else an error.

    Refused: empty paths, absolute paths, backslashes, whitespace and control characters,
    and empty, ``.`` or ``..`` segments (``a//b``, ``./a``, ``../a``).
    """
    problem = ""
    if not path:
        problem = "is empty"
    elif path.startswith("/") or re.match(r"[A-Za-z]:", path):
        problem = "is absolute"
    elif "\\" in path:
        problem = "contains a backslash"
    elif _SPACE_OR_CONTROL.search(path):
        # Whitespace too: checksums.txt lines would need sha256sum's escaped-name syntax.
        problem = "contains whitespace or a control character"
    else:
        for segment in path.split("/"):
            if segment in ("", ".", ".."):
                problem = f"has a {segment!r} segment" if segment else "has an empty segment"
                break
    if problem:
        raise InvalidRequestError(
            f"{what} {path!r} {problem}: bundle paths must stay inside the output directory",
            details={"path": path},
        )
    return path


def template_name(manifest: str) -> str:
    """``templates/<basename>`` for a data-relative manifest path (checked first)."""
    check_relative(manifest, what="manifest path")
    return "templates/" + manifest.rsplit("/", 1)[-1]
