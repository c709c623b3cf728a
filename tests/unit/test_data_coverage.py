"""The generated README section (``eidos-cli data coverage``): it matches the embedded data, and
it is computed from the data — an overlay added to a layer shows up in every table."""

from __future__ import annotations

import pytest

from eidos_core import yaml
from eidos_core.data.coverage import (
    BEGIN,
    END,
    code,
    generated_part,
    markdown,
    prose,
    splice,
    summary,
)
from eidos_core.data.files import read_embedded
from eidos_core.data.layered import layer_files
from eidos_core.data.load import load_store
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.embedded import embedded_store
from tests.conftest import REPO, metadata_doc, mini_files

REGENERATE = ".venv/bin/eidos-cli data coverage --update README.md"


def part(text: str, title: str) -> str:
    """One ``### title`` part of the generated text."""
    return text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]


def rows_of(text: str, first_cell: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")]


def overlay_file(name: str, spec: dict[str, object], comment: str) -> bytes:
    return f"# {comment}\n".encode() + yaml.dump(metadata_doc(name, spec)).encode()


def layered(**overlays: bytes) -> RecipeStore:
    """The embedded data with extra overlay files, as ``--data`` layers them."""
    layer = {"registry.yaml": b"components: []\n", **{f"overlays/{n}.yaml": body for n, body in overlays.items()}}
    return load_store(layer_files(read_embedded(), layer, origin="layer"), source="test")


def test_readme_section_matches_the_embedded_data() -> None:
    readme = (REPO / "README.md").read_text()
    assert readme.index("\n## Recipe data\n") < readme.index(BEGIN) < readme.index(END)
    assert readme.index(END) < readme.index("\n## Deploying on Kubernetes\n")
    assert REGENERATE in readme, "the section says how to regenerate it"
    assert generated_part(readme) == markdown(embedded_store()), (
        f"README.md's Recipe data tables are out of date with recipe_data/; regenerate them: {REGENERATE}"
    )


def test_output_is_deterministic_and_names_every_overlay_and_component() -> None:
    store = embedded_store()
    text = markdown(store)
    assert text == markdown(load_store(dict(reversed(list(read_embedded().items()))), source="again"))
    overlays, components = part(text, "Overlays"), part(text, "Components")
    for name in ("base", *store.overlays):
        assert len(rows_of(overlays, code(name)) + rows_of(overlays, f"{code(name)} (parent only)")) == 1, name
    for name in store.registry.components:
        assert len(rows_of(components, code(name))) == 1, name


def test_a_new_overlay_shows_up_in_every_table() -> None:
    extra = overlay_file(
        "eks-h100-training",
        {
            "criteria": {"service": "eks", "accelerator": "h100", "intent": "training"},
            "constraints": [{"name": "K8s.server.version", "value": ">= 1.31"}],
            "componentRefs": [{"name": "gpu-operator", "version": "v99.1.0", "overrides": {"nfd": {"enabled": False}}}],
        },
        "EKS H100 training: a site tweak. Second sentence is left out.",
    )
    before, after = markdown(embedded_store()), markdown(layered(**{"eks-h100-training": extra}))
    assert "eks-h100-training" not in before
    (row,) = rows_of(part(after, "Overlays"), code("eks-h100-training"))
    assert "| `eks` | `h100` | `training` | — |" in row
    assert "`gpu-operator`: version `v99.1.0`; sets `nfd.enabled`" in row
    assert "`K8s.server.version: >= 1.31`" in row
    assert row.endswith("| EKS H100 training: a site tweak. |")
    # Coverage, from the matcher: only that one combination gets it, last and in bold.
    (cell_row,) = rows_of(after, "`eks` | `h100`")
    assert cell_row.endswith(", **`eks-h100-training`** |")
    assert sum("eks-h100-training" in line for line in part(after, "Coverage").splitlines()) == 1
    # Components: the pinned version is listed with the overlay that pins it.
    (gpu,) = rows_of(part(after, "Components"), code("gpu-operator"))
    assert "`v99.1.0` (eks-h100-training)" in gpu


def summary_of(head: str, tail: str = "") -> str:
    body = head + yaml.dump(metadata_doc("x", {"criteria": {"os": "rhel"}})) + tail
    store = load_store({**mini_files(), "overlays/x.yaml": body.encode()}, source="t")
    return summary(store, store.overlays["x"])


def test_summary_is_the_first_sentence_of_the_leading_comment() -> None:
    assert summary_of("# One line.\n") == "One line."
    assert summary_of("# Wrapped over\n# two lines (driver 570.133.20 or later). Then more.\n") == (
        "Wrapped over two lines (driver 570.133.20 or later)."
    )
    assert summary_of("# No full stop\n") == "No full stop"
    assert summary_of("", tail="# Not leading.\n") == ""


def test_cells_survive_markdown_tables() -> None:
    assert code("a|b") == "`a\\|b`"
    assert code("a`b") == "`` a`b ``"
    assert prose("x | y <name> `<kept>`") == "x \\| y &lt;name> `<kept>`"


def test_mini_data_set_versions_nodes_parents_and_unused() -> None:
    files = mini_files(
        p={"componentRefs": [{"name": "c", "type": "Kustomize"}]},
        child={"base": "p", "criteria": {"service": "gke"}},
        orphan={"componentRefs": [{"name": "b", "version": "3.0.0"}]},
        big={"criteria": {"accelerator": "h100", "nodes": 64}, "componentRefs": [{"name": "b", "version": "3.0.0"}]},
        pinned={"criteria": {"service": "gke", "os": "cos"}, "componentRefs": [{"name": "a", "version": "1.1.0"}]},
    )
    text = markdown(load_store(files, source="mini"))
    (a,) = rows_of(part(text, "Components"), code("a"))
    assert "`1.0.0` (base)<br>`1.1.0` (pinned)" in a and "every recipe (base)" in a
    (c,) = rows_of(part(text, "Components"), code("c"))
    assert "`deploy` from `https://git.example/c`" in c and "| `v1` |" in c and "`child`, `p`" in c
    assert "| overlay | service | accelerator | intent | os | nodes | base |" in text
    (big,) = rows_of(text, code("big"))
    assert "| — | `h100` | — | — | 64 |" in big
    assert "| `any` | `h100` | `any` | `any` | 64 | **`big`** |" in text
    assert "Never applied (no criteria, and no overlay names it as its base): `orphan`." in text
    assert rows_of(text, "`p` (parent only)")
    # gke + cos: the service overlay with its parent, then the dedicated one in bold.
    (cos,) = rows_of(part(text, "Coverage"), code("cos"))
    assert "| `p`, `child`, **`pinned`** |" in cos


def test_splice_replaces_only_between_the_markers() -> None:
    doc = f"intro\n{BEGIN}\nold\n{END}\nrest\n"
    new = splice(doc, "fresh\n")
    assert new == f"intro\n{BEGIN}\nfresh\n{END}\nrest\n"
    assert generated_part(new) == "fresh\n"
    assert splice(new, "fresh\n") == new
    with pytest.raises(InvalidRequestError, match="markers"):
        splice("no markers here\n", "x")
    with pytest.raises(InvalidRequestError, match="markers"):
        generated_part(f"{END}\n{BEGIN}\n")
