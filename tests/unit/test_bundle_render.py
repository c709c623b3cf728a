"""Values merging, the Helm and Argo CD layouts, checksums, key order and determinism."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from typing import Any

import pytest

from eidos_cli.bundle import argocd, helm
from eidos_cli.bundle.bundler import BundleOptions, parse_deployer, render_bundle, summary
from eidos_cli.bundle.checksums import checksums, parse_checksums
from eidos_cli.bundle.overrides import parse_set
from eidos_cli.bundle.scheduling import scheduling_from_flags
from eidos_cli.bundle.values import component_values, recipe_values
from eidos_cli.bundle.yamlout import dump_values, sort_keys
from eidos_core import yaml
from eidos_core.data.load import load_store
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.document import RecipeDocument, recipe_from_document
from eidos_core.recipe.model import ComponentRef, RecipeStore
from eidos_core.recipe.result import recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.conftest import mini_files

GB200 = Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu")


def embedded_recipe(criteria: Criteria = GB200, version: str = "v1.0.0") -> RecipeDocument:
    return recipe_from_document(recipe_to_document(build_recipe(embedded_store(), criteria), version))


@pytest.fixture
def store() -> RecipeStore:
    files = mini_files()
    files["components/a/values.yaml"] = b"replicas: 1\nimage: {tag: v1, repo: r}\nenv: [A, B]\nversion: 1.10\n"
    files["components/a/values-big.yaml"] = b"replicas: 3\nenv: [C]\n"
    files["components/b/values-only.yaml"] = b"x: 1\n"
    files["components/a/manifests/cm.yaml"] = b"kind: ConfigMap\n"
    return load_store(files, source="test")


# -- values ------------------------------------------------------------------------------------


def test_values_file_alone(store: RecipeStore) -> None:
    ref = ComponentRef(name="a", values_file="components/a/values.yaml")
    assert recipe_values(ref, store.files) == {
        "replicas": 1,
        "image": {"tag": "v1", "repo": "r"},
        "env": ["A", "B"],
        "version": 1.1,
    }


def test_overlay_values_file_goes_over_the_base_then_overrides(store: RecipeStore) -> None:
    ref = ComponentRef(
        name="a",
        values_file="components/a/values-big.yaml",
        overrides={"image": {"tag": "v2"}, "extra": {"on": True}},
    )
    values = recipe_values(ref, store.files)
    # Lists replace, mappings merge, the overrides win.
    assert values == {
        "replicas": 3,
        "image": {"tag": "v2", "repo": "r"},
        "env": ["C"],
        "version": 1.1,
        "extra": {"on": True},
    }
    assert recipe_values(ref, store.files) is not values  # fresh each time: nothing shared


def test_overlay_values_file_without_a_base(store: RecipeStore) -> None:
    assert recipe_values(ComponentRef(name="b", values_file="components/b/values-only.yaml"), store.files) == {"x": 1}


def test_no_values_file_no_overrides(store: RecipeStore) -> None:
    assert recipe_values(ComponentRef(name="b"), store.files) == {}
    assert recipe_values(ComponentRef(name="b", overrides={"k": [1]}), store.files) == {"k": [1]}


def test_missing_or_bad_values_file_is_an_error(store: RecipeStore) -> None:
    with pytest.raises(NotFoundError, match="values file components/a/nope.yaml of component a"):
        recipe_values(ComponentRef(name="a", values_file="components/a/nope.yaml"), store.files)
    files = {**store.files, "components/a/list.yaml": b"- 1\n"}
    with pytest.raises(InvalidRequestError, match="must be a YAML mapping"):
        recipe_values(ComponentRef(name="a", values_file="components/a/list.yaml"), files)


def test_set_then_scheduling() -> None:
    emb = embedded_store()
    ref = ComponentRef(name="cert-manager", values_file="components/cert-manager/values.yaml", overrides={"x": 1})
    values = component_values(
        ref,
        emb.files,
        emb.registry,
        parse_set(["certmanager:tolerations=none", "cert-manager:x=2", "certmanager:installCRDs=false"]),
        scheduling_from_flags(system_selectors=["pool=sys"]),
    )
    assert values["x"] == 2
    assert values["installCRDs"] is False
    # Scheduling comes last, so it wins over --set on the same path.
    assert values["tolerations"] == [{"operator": "Exists"}]
    assert values["webhook"]["nodeSelector"] == {"pool": "sys"}
    assert values["resources"]  # the values file is still there


# -- key order ---------------------------------------------------------------------------------


def test_natural_key_order() -> None:
    # go-yaml's order: digit runs compare as numbers, uppercase before lowercase, a non-letter
    # before a letter except straight after digits.
    expected = ["2", "10", "B", "a", "a_1", "a1", "a1b", "a1_", "a01", "a2", "a10", "ab", "b", "x-y", "xy"]
    shuffled = expected[::-1]
    random.Random(3).shuffle(shuffled)
    assert list(sort_keys(dict.fromkeys(shuffled, 0))) == expected
    assert list(sort_keys({2: 0, "a": 0, 10: 0, 1.5: 0})) == [1.5, 2, 10, "a"]


def test_dump_values_sorts_every_mapping_but_keeps_lists() -> None:
    text = dump_values({"z": {"b": 1, "a": [{"q": 1, "p": 2}, 3]}, "a": {}})
    assert text == "a: {}\nz:\n  a:\n    - p: 2\n      q: 1\n    - 3\n  b: 1\n"


# -- helm --------------------------------------------------------------------------------------


def test_helm_layout_for_an_embedded_recipe() -> None:
    recipe = embedded_recipe()
    bundle = render_bundle(recipe, embedded_store(), BundleOptions(bundler_version="v1.2.3"))
    assert sorted(bundle.files) == [
        "Chart.yaml",
        "README.md",
        "checksums.txt",
        "recipe.yaml",
        "templates/dcgm-metrics.yaml",
        "templates/kernel-module-params.yaml",
        "templates/ubuntu-tuning.yaml",
        "values.yaml",
    ]
    chart = yaml.load(bundle.files["Chart.yaml"])
    assert (chart["apiVersion"], chart["name"], chart["version"], chart["appVersion"]) == (
        "v2",
        "eidos-eks-gb200",
        "1.2.3",
        "v1.0.0",
    )
    deps = chart["dependencies"]
    assert [d.get("alias", d["name"]) for d in deps] == list(recipe.deployment_order)
    prom = next(d for d in deps if d["name"] == "kube-prometheus-stack")
    assert prom == {
        "name": "kube-prometheus-stack",
        "alias": "prometheus",
        "version": "81.2.2",
        "repository": "https://prometheus-community.github.io/helm-charts",
        "condition": "prometheus.enabled",
    }
    assert all("alias" not in d for d in deps if d["name"] != "kube-prometheus-stack")
    values_text = bundle.files["values.yaml"].decode()
    assert values_text.startswith("# Values for the NVIDIA")
    assert "# Recipe Version: v1.0.0\n# Bundler Version: v1.2.3\n" in values_text
    values = yaml.load(values_text)
    assert list(values) == sorted(r.name for r in recipe.component_refs)
    assert all(v["enabled"] is True for v in values.values())
    assert values["skyhook-operator"]["customization"] == "ubuntu"
    assert yaml.load(bundle.files["recipe.yaml"]) == recipe.to_document()
    assert (
        bundle.files["templates/ubuntu-tuning.yaml"]
        == embedded_store().files["components/skyhook-operator/manifests/ubuntu-tuning.yaml"]
    )
    # recipe.yaml is deliberately not covered, as in the reference.
    assert set(parse_checksums(bundle.files["checksums.txt"])) == set(bundle.files) - {"checksums.txt", "recipe.yaml"}


def test_helm_readme() -> None:
    recipe = embedded_recipe()
    readme = helm.render_readme(recipe, "v1.2.3")
    assert readme.startswith("# Cloud Native Stack Deployment\n\nRecipe Version: v1.0.0\nBundler Version: v1.2.3\n")
    assert "- **Service**: eks\n- **Accelerator**: gb200\n- **Intent**: training\n- **OS**: ubuntu\n" in readme
    assert "| gpu-operator | v25.10.1 | https://helm.ngc.nvidia.com/nvidia |" in readme
    assert "| K8s.server.version | >= 1.32 |" in readme
    assert "helm install eidos-stack . -n eidos-stack --create-namespace -f values.yaml" in readme
    for section in (
        "## Components",
        "## Constraints",
        "## Quick Start",
        "## Customization",
        "## Upgrade",
        "## Uninstall",
        "## Troubleshooting",
        "## References",
    ):
        assert f"\n{section}\n" in readme
    bare = helm.render_readme(replace(recipe, criteria=None, constraints=()), "v1")
    assert "Target Environment" not in bare
    assert "## Constraints" not in bare


def test_chart_name_and_version() -> None:
    recipe = embedded_recipe(Criteria(accelerator="h100"))
    assert helm.chart_name(recipe) == "eidos-h100"
    assert helm.chart_name(replace(recipe, criteria=None)) == "eidos-stack"
    assert helm.chart_name(embedded_recipe(Criteria(intent="training"))) == "eidos-stack"
    assert helm.chart_version("v0.27.0") == "0.27.0"
    assert helm.chart_version("dev") == "0.1.0"  # Helm needs SemVer
    assert helm.chart_version("") == "0.1.0"


def test_components_missing_from_deployment_order_still_count() -> None:
    recipe = embedded_recipe()
    partial = replace(recipe, deployment_order=("prometheus", "ghost", "cert-manager", "prometheus"))
    names = [r.name for r in helm.ordered_refs(partial)]
    assert names[:2] == ["prometheus", "cert-manager"]
    assert sorted(names) == sorted(r.name for r in recipe.component_refs)


def test_kustomize_components_are_notes_not_dependencies() -> None:
    recipe = embedded_recipe()
    extra = ComponentRef(name="teleport", type="Kustomize", source="https://git.example/t", tag="v1")
    recipe = replace(recipe, component_refs=(*recipe.component_refs, extra))
    bundle = render_bundle(recipe, embedded_store())
    chart = yaml.load(bundle.files["Chart.yaml"])
    assert "teleport" not in [d["name"] for d in chart["dependencies"]]
    assert bundle.notes == ("teleport is a Kustomize component and is not part of the Helm chart; apply it separately",)
    assert "## Not in this chart" in bundle.files["README.md"].decode()


def test_odd_scalars_in_chart_yaml_are_quoted_not_injected() -> None:
    recipe = embedded_recipe()
    refs = tuple(
        replace(r, version="1.0\nevil: true") if r.name == "cert-manager" else r for r in recipe.component_refs
    )
    chart = yaml.load(
        helm.render_chart(replace(recipe, component_refs=refs, version="yes"), embedded_store().registry, "v1")
    )
    assert chart["dependencies"][0]["version"] == "1.0\nevil: true"
    assert chart["appVersion"] == "yes"
    assert "evil" not in chart


def test_manifest_problems() -> None:
    emb = embedded_store()
    recipe = embedded_recipe()
    missing = tuple(
        replace(r, manifest_files=("components/x/nope.yaml",)) if r.name == "nvsentinel" else r
        for r in recipe.component_refs
    )
    with pytest.raises(NotFoundError, match="manifest components/x/nope.yaml of component nvsentinel"):
        render_bundle(replace(recipe, component_refs=missing), emb)
    files = {**emb.files, "components/other/kernel-module-params.yaml": b"x"}
    clash = tuple(
        replace(r, manifest_files=("components/other/kernel-module-params.yaml",)) if r.name == "nvsentinel" else r
        for r in recipe.component_refs
    )
    with pytest.raises(InvalidRequestError, match="would both be written to templates/kernel-module-params.yaml"):
        helm.collect_manifests(replace(recipe, component_refs=clash), files)
    # The same manifest named by two components is copied once.
    twice = tuple(
        replace(r, manifest_files=("components/gpu-operator/manifests/dcgm-metrics.yaml",))
        if r.name == "nvsentinel"
        else r
        for r in recipe.component_refs
    )
    assert list(helm.collect_manifests(replace(recipe, component_refs=twice), emb.files)) == [
        "templates/dcgm-metrics.yaml",
        "templates/kernel-module-params.yaml",
        "templates/ubuntu-tuning.yaml",
    ]


def test_empty_recipe_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="at least one component reference"):
        render_bundle(RecipeDocument(), embedded_store())


def test_set_key_must_name_a_recipe_component() -> None:
    recipe = embedded_recipe(Criteria(service="eks"))  # no network-operator
    with pytest.raises(InvalidRequestError, match="no component 'networkoperator'"):
        render_bundle(recipe, embedded_store(), BundleOptions(overrides=parse_set(["networkoperator:a=1"])))


# -- argocd ------------------------------------------------------------------------------------


def test_argocd_layout() -> None:
    recipe = embedded_recipe()
    options = BundleOptions(deployer="ArgoCD ", repo="https://git.example/gitops.git", bundler_version="v1.2.3")
    bundle = render_bundle(recipe, embedded_store(), options)
    assert bundle.deployer == "argocd"
    names = list(recipe.deployment_order)
    assert sorted(bundle.files) == sorted(
        ["app-of-apps.yaml", "README.md", "checksums.txt"]
        + [f"{n}/application.yaml" for n in names]
        + [f"{n}/values.yaml" for n in names]
    )
    apps = {n: yaml.load(bundle.files[f"{n}/application.yaml"]) for n in names}
    for wave, name in enumerate(names):
        assert apps[name]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == str(wave)
    gpu = apps["gpu-operator"]["spec"]
    assert gpu["destination"]["namespace"] == "gpu-operator"
    assert gpu["sources"][0] == {
        "repoURL": "https://helm.ngc.nvidia.com/nvidia",
        "chart": "gpu-operator",
        "targetRevision": "v25.10.1",
        "helm": {"valueFiles": ["$values/gpu-operator/values.yaml"]},
    }
    assert gpu["sources"][1] == {"repoURL": "https://git.example/gitops.git", "targetRevision": "main", "ref": "values"}
    assert apps["prometheus"]["spec"]["sources"][0]["chart"] == "kube-prometheus-stack"
    assert apps["nvsentinel"]["spec"]["destination"]["namespace"] == "nvidia-system"
    parent = yaml.load(bundle.files["app-of-apps.yaml"])
    assert parent["spec"]["source"]["repoURL"] == "https://git.example/gitops.git"
    assert parent["spec"]["source"]["directory"] == {"recurse": True, "include": "*/application.yaml"}
    values_text = bundle.files["gpu-operator/values.yaml"].decode()
    assert values_text.startswith("# Helm values for this component, generated by eidos-cli bundle\n---\n")
    values = yaml.load(values_text.split("---\n", 1)[1])
    assert "enabled" not in values  # the umbrella chart's switch has no meaning here
    assert values["daemonsets"]["tolerations"] == [{"operator": "Exists"}]
    assert set(parse_checksums(bundle.files["checksums.txt"])) == set(bundle.files) - {"checksums.txt"}
    assert bundle.notes == ()
    readme = bundle.files["README.md"].decode()
    assert "| cert-manager | v1.17.2 | 0 | cert-manager |" in readme
    assert "- **Wave 1**: gpu-operator" in readme


def test_argocd_without_repo_uses_the_placeholder_and_says_so() -> None:
    bundle = render_bundle(embedded_recipe(), embedded_store(), BundleOptions(deployer="argocd"))
    assert bundle.notes == ("Update app-of-apps.yaml with your repository URL before applying",)
    assert yaml.load(bundle.files["app-of-apps.yaml"])["spec"]["source"]["repoURL"] == argocd.PLACEHOLDER_REPO
    assert bundle.steps("./gitops") == (
        "Push the generated files to your GitOps repository",
        "kubectl apply -f ./gitops/app-of-apps.yaml",
    )


def test_argocd_waves_order() -> None:
    recipe = embedded_recipe()
    shuffled = replace(recipe, deployment_order=("skyhook-operator", "cert-manager"))
    names = [r.name for r in argocd.waves(shuffled)]
    assert names[:2] == ["skyhook-operator", "cert-manager"]
    assert names[2:] == sorted(names[2:])
    assert [r.name for r in argocd.waves(replace(recipe, deployment_order=()))] == [
        r.name for r in recipe.component_refs
    ]


def test_argocd_component_cannot_shadow_a_bundle_file() -> None:
    recipe = RecipeDocument(component_refs=(ComponentRef(name="readme.md"),))
    with pytest.raises(InvalidRequestError, match="clashes with the bundle file"):
        render_bundle(recipe, embedded_store(), BundleOptions(deployer="argocd"))


def test_empty_values_give_just_the_header() -> None:
    assert argocd.component_values_file({}) == "# Helm values for this component, generated by eidos-cli bundle\n---\n"


def test_deployer_parsing() -> None:
    assert parse_deployer(" HELM ") == "helm"
    assert parse_deployer("") == "helm"
    assert parse_deployer(None) == "helm"
    with pytest.raises(
        InvalidRequestError, match=r"invalid deployer type \'kustomize\': must be one of \[argocd helm\]"
    ):
        parse_deployer("kustomize")


# -- checksums, summary, determinism -------------------------------------------------------------


def test_checksums_format() -> None:
    files = {"b.txt": b"b", "a/c.txt": b"", "Z": b"z"}
    text = checksums(files).decode()
    lines = text.splitlines()
    assert [line.split("  ")[1] for line in lines] == ["Z", "a/c.txt", "b.txt"]
    assert lines[1] == hashlib.sha256(b"").hexdigest() + "  a/c.txt"
    assert text.endswith("\n")
    assert checksums({}) == b"\n"
    assert parse_checksums(checksums(files)) == {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    with pytest.raises(InvalidRequestError):
        checksums({"../x": b""})


def test_summary_text() -> None:
    bundle = render_bundle(embedded_recipe(), embedded_store())
    assert summary(bundle, "./out") == (
        "\nHelm umbrella chart generated successfully!\n"
        "Output directory: ./out\n"
        f"Files generated: {len(bundle.files)}\n"
        "\nTo deploy:\n"
        "  1. cd ./out\n"
        "  2. helm dependency update\n"
        "  3. helm install eidos-stack . -n eidos-stack --create-namespace\n"
    )
    argo = render_bundle(embedded_recipe(), embedded_store(), BundleOptions(deployer="argocd"))
    assert "\nNote:\n  ⚠ Update app-of-apps.yaml with your repository URL before applying\n" in summary(argo, ".")


@pytest.mark.parametrize("deployer", ["helm", "argocd"])
def test_rendering_is_deterministic(deployer: str) -> None:
    recipe = embedded_recipe()
    options = BundleOptions(
        deployer=deployer,
        overrides=parse_set(["gpuoperator:z=1", "gpuoperator:a.b=x"]),
        scheduling=scheduling_from_flags(system_selectors=["b=1", "a=2"]),
    )
    first = render_bundle(recipe, embedded_store(), options).files
    # Same recipe with its overrides' keys in another order: the same bytes.
    rng = random.Random(7)

    def shuffle(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        return value

    refs = tuple(replace(r, overrides=shuffle(dict(r.overrides))) for r in recipe.component_refs)
    second = render_bundle(replace(recipe, component_refs=refs), embedded_store(), options).files
    assert first == second
    assert list(first) == list(second)
    for data in first.values():
        assert b"Generated: " not in data  # no timestamps


def test_argocd_kustomize_components_are_git_sources() -> None:
    from dataclasses import replace as _replace

    from eidos_cli.bundle.argocd import application
    from eidos_core.recipe.model import ComponentRef, Registry

    ref = ComponentRef(name="tuning", type="Kustomize", source="https://git.example/t.git", tag="v2", path="deploy")
    source = application(ref, 1, Registry(), "")["spec"]["sources"][0]
    assert source == {"repoURL": "https://git.example/t.git", "path": "deploy", "targetRevision": "v2"}
    helm = application(_replace(ref, type="Helm", version="1.0.0"), 1, Registry(), "")["spec"]["sources"][0]
    assert helm["chart"] == "tuning" and helm["targetRevision"] == "1.0.0"
