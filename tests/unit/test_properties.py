"""Property tests of the engine over generated data sets."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos_core import yaml
from eidos_core.data.load import load_store
from eidos_core.errors import RecipeDataError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.result import recipe_to_document, to_json
from tests.conftest import metadata_doc, mini_files

field_values = {
    "service": st.sampled_from((*SERVICES, ANY)),
    "accelerator": st.sampled_from((*ACCELERATORS, ANY)),
    "intent": st.sampled_from((*INTENTS, ANY)),
    "os": st.sampled_from((*OS_TYPES, ANY)),
}
queries = st.builds(Criteria, **field_values)
specific_criteria = st.fixed_dictionaries(
    {}, optional={k: v.filter(lambda x: x != ANY) for k, v in field_values.items()}
).filter(bool)
refs = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["a", "b", "c"])},
        optional={
            "version": st.sampled_from(["1.10", "2.0.0", "v3"]),
            "overrides": st.dictionaries(
                st.sampled_from(["x", "y"]), st.dictionaries(st.sampled_from(["p", "q"]), st.integers(0, 3)), max_size=2
            ),
            "manifestFiles": st.just(["components/a/values.yaml"]),
        },
    ),
    max_size=3,
    unique_by=lambda r: str(r["name"]),
)
overlay_specs = st.dictionaries(
    st.from_regex(r"[a-z]{1,6}", fullmatch=True).filter(lambda n: n != "base"),
    st.fixed_dictionaries({"criteria": specific_criteria, "componentRefs": refs}),
    max_size=6,
)


def files_for(overlays: dict[str, dict[str, object]]) -> dict[str, bytes]:
    files = mini_files()
    for name, spec in overlays.items():
        files[f"overlays/{name}.yaml"] = yaml.dump(metadata_doc(name, spec)).encode()
    return files


def answer(store: object, query: Criteria) -> bytes:
    return to_json(recipe_to_document(build_recipe(store, query), "dev"))  # type: ignore[arg-type]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(overlay_specs, st.lists(queries, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_file_order(
    overlays: dict[str, dict[str, object]], qs: list[Criteria], rnd: random.Random
) -> None:
    files = files_for(overlays)
    items = list(files.items())
    rnd.shuffle(items)
    one, two = load_store(files, source="a"), load_store(dict(items), source="b")
    assert one.version == two.version
    for q in qs:
        assert answer(one, q) == answer(two, q)
        assert answer(one, q) == answer(one, q)  # deterministic


@settings(max_examples=60)
@given(overlay_specs)
def test_base_only_query_returns_base(overlays: dict[str, dict[str, object]]) -> None:
    store = load_store(files_for(overlays), source="t")
    recipe = build_recipe(store, Criteria())
    assert recipe.applied_overlays == ("base",)
    assert [r.name for r in recipe.component_refs] == sorted(r.name for r in store.base.component_refs)
    assert [c.name for c in recipe.constraints] == [c.name for c in store.base.constraints]


@settings(max_examples=60)
@given(overlay_specs, queries)
def test_more_specific_overlays_apply_later(overlays: dict[str, dict[str, object]], query: Criteria) -> None:
    store = load_store(files_for(overlays), source="t")
    applied = build_recipe(store, query).applied_overlays[1:]
    scores = [store.overlays[n].criteria.specificity for n in applied]  # type: ignore[union-attr]
    assert scores == sorted(scores)


bad_fields = st.sampled_from(
    [
        ("spec.criteria.service", {"criteria": {"service": "mars"}}),
        ("spec.criteria.os", {"criteria": {"os": "plan9"}}),
        ("spec.componentRefs[0].name", {"componentRefs": [{"name": "nope"}]}),
        ("spec.componentRefs[0].valuesFile", {"componentRefs": [{"name": "a", "valuesFile": "components/x.yaml"}]}),
        ("spec.constraints[0].name", {"constraints": [{"name": "bad", "value": "1"}]}),
        ("spec.base", {"base": "ghost", "criteria": {"service": "eks"}}),
    ]
)


@settings(max_examples=40)
@given(st.from_regex(r"[a-z]{1,8}", fullmatch=True).filter(lambda n: n != "base"), bad_fields)
def test_every_error_names_file_and_field(name: str, bad: tuple[str, dict[str, object]]) -> None:
    field, spec = bad
    files = files_for({name: spec})
    try:
        load_store(files, source="t")
    except RecipeDataError as exc:
        assert any(p.file == f"overlays/{name}.yaml" and p.field == field for p in exc.problems), exc.problems
    else:
        raise AssertionError("bad data loaded")
