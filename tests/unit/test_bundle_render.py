"""Values merging, the Helm and Argo CD layouts, checksums, key order and determinism."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import replace
from typing import Any

import pytest

from eidos_cli.bundle import helm
from eidos_cli.bundle.bundler import BundleOptions, parse_deployer, render_bundle, summary
from eidos_cli.bundle.checksums import checksums, parse_checksums
from eidos_cli.bundle.overrides import parse_set
from eidos_cli.bundle.plan import build_plan, ordered_refs
from eidos_cli.bundle.scheduling import scheduling_from_flags
from eidos_cli.bundle.values import component_values, recipe_values
from eidos_cli.bundle.yamlout import dump_values, sort_keys
from eidos_core import yaml
from eidos_core.data.load import load_store
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import ComponentRef, Recipe, RecipeStore, Registry, RegistryComponent
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.sources.embedded import embedded_store
from tests.conftest import mini_files

GB200 = Criteria(service="eks", accelerator="gb200", intent="training", os="ubuntu")


def embedded_recipe(criteria: Criteria = GB200, version: str = "v1.0.0") -> Recipe:
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
        scheduling_from_flags(system_selectors=["pool=sys"], system_tolerations=[":"]),
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


# -- the Helm form: one release per component, installed in order -------------------------------


def plan_doc(files: Any) -> dict[str, Any]:
    doc = yaml.load(files["install-plan.yaml"])
    assert isinstance(doc, dict)
    return doc


def test_helm_layout_for_an_embedded_recipe() -> None:
    recipe = embedded_recipe()
    bundle = render_bundle(recipe, embedded_store(), BundleOptions(bundler_version="v1.2.3"))
    names = list(recipe.deployment_order)
    assert sorted(bundle.files) == sorted(
        [
            "README.md",
            "checksums.txt",
            "deploy.sh",
            "install-plan.yaml",
            "recipe.yaml",
            "undeploy.sh",
            "gpu-operator/manifests/dcgm-metrics.yaml",
            "gpu-operator/manifests/kernel-module-params.yaml",
            "skyhook-operator/manifests/ubuntu-tuning.yaml",
            "prometheus/manifests/cert-manager-servicemonitor.yaml",
        ]
        + [f"{n}/values.yaml" for n in names]
    )
    plan = plan_doc(bundle.files)
    assert (plan["apiVersion"], plan["kind"]) == ("eidos.nvidia.com/v1alpha1", "InstallPlan")
    assert [s["component"] for s in plan["steps"]] == names
    gpu = next(s for s in plan["steps"] if s["component"] == "gpu-operator")
    assert gpu == {
        "component": "gpu-operator",
        "namespace": "gpu-operator",
        "enabled": True,
        "chart": {"repository": "https://helm.ngc.nvidia.com/nvidia", "name": "gpu-operator", "version": "v26.7.0"},
        "values": "gpu-operator/values.yaml",
        "manifests": ["gpu-operator/manifests/dcgm-metrics.yaml", "gpu-operator/manifests/kernel-module-params.yaml"],
        "dependsOn": ["cert-manager"],
    }
    prom = next(s for s in plan["steps"] if s["component"] == "prometheus")
    assert prom["chart"]["name"] == "kube-prometheus-stack" and prom["namespace"] == "monitoring"
    for step in plan["steps"]:
        assert step["values"] in bundle.files
        for manifest in step["manifests"]:
            assert b"{{" not in bundle.files[manifest]  # rendered: plain YAML
            assert all(
                d["metadata"].get("namespace", step["namespace"]) == step["namespace"]
                for d in [yaml.load(bundle.files[manifest])]
            )
    values = yaml.load(bundle.files["skyhook-operator/values.yaml"])
    assert "customization" not in values and "enabled" not in values  # the Skyhook resource is a manifest
    assert yaml.load(bundle.files["recipe.yaml"]) == recipe.to_document()
    for gone in ("Chart.yaml", "values.yaml"):
        assert gone not in bundle.files


def test_checksums_cover_every_file_but_themselves() -> None:
    # Regression (issue 10): checksums.txt left out recipe.yaml.
    for deployer in ("helm", "argocd"):
        bundle = render_bundle(embedded_recipe(), embedded_store(), BundleOptions(deployer=deployer))
        sums = parse_checksums(bundle.files["checksums.txt"])
        assert set(sums) == set(bundle.files) - {"checksums.txt"}
        assert "recipe.yaml" in sums and "install-plan.yaml" in sums
        assert all(sums[p] == hashlib.sha256(d).hexdigest() for p, d in bundle.files.items() if p in sums)


def test_no_in_order_claim_that_helm_does_not_keep() -> None:
    # Regression (issue 10): Chart.yaml and the README said an umbrella chart's dependencies
    # install "in the order listed"; Helm applies them all at once. Now each step is its own
    # release, installed with --wait after the one before it.
    bundle = render_bundle(embedded_recipe(), embedded_store())
    text = b"".join(bundle.files.values()).decode()
    assert "order listed" not in text and "dependencies" not in bundle.files["README.md"].decode()
    deploy = bundle.files["deploy.sh"].decode()
    assert deploy.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in deploy
    installs = [line for line in deploy.splitlines() if "helm upgrade --install" in line]
    assert [line.split()[4] for line in installs] == list(embedded_recipe().deployment_order)
    assert all("--create-namespace" in line for line in installs)
    waits = [line for line in deploy.splitlines() if "--wait --timeout" in line]
    assert len(waits) == len(installs)
    # Extra manifests after their own release, before the next one.
    assert (
        deploy.index("helm upgrade --install gpu-operator")
        < deploy.index("kubectl apply -n gpu-operator -f gpu-operator/manifests/dcgm-metrics.yaml")
        < deploy.index("helm upgrade --install nvidia-dra-driver-gpu")
    )
    undeploy = bundle.files["undeploy.sh"].decode()
    removals = [line.split()[3] for line in undeploy.splitlines() if "helm uninstall" in line]
    assert removals == list(reversed(embedded_recipe().deployment_order))
    assert undeploy.index("kubectl delete --ignore-not-found -n skyhook") < undeploy.index("helm uninstall skyhook")


def test_dra_driver_namespace_is_the_one_its_step_creates() -> None:
    # Regression (issue 10): the DRA driver targeted a gpu-operator namespace nothing created.
    bundle = render_bundle(embedded_recipe(), embedded_store())
    step = next(s for s in plan_doc(bundle.files)["steps"] if s["component"] == "nvidia-dra-driver-gpu")
    values = yaml.load(bundle.files["nvidia-dra-driver-gpu/values.yaml"])
    assert values["namespaceOverride"] == step["namespace"] == "nvidia-dra-driver-gpu"
    deploy = bundle.files["deploy.sh"].decode()
    assert "helm upgrade --install nvidia-dra-driver-gpu" in deploy
    assert "--namespace nvidia-dra-driver-gpu --create-namespace" in deploy
    assert b"namespaceOverride" not in embedded_store().files["components/nvidia-dra-driver-gpu/values.yaml"].replace(
        b"# namespaceOverride", b""
    )


def with_namespace(store: RecipeStore, component: str, namespace: str) -> RecipeStore:
    comps = dict(store.registry.components)
    comps[component] = replace(comps[component], namespace=namespace)
    return replace(store, registry=Registry(components=comps))


def test_dcgm_exporter_service_monitor_keeps_the_workload_labels() -> None:
    # Regression (issue 11): without honorLabels, Prometheus overwrites dcgm-exporter's pod and
    # namespace labels with the exporter's own, and the adapter maps GPU metrics to the exporter.
    values = yaml.load(render_bundle(embedded_recipe(), embedded_store()).files["gpu-operator/values.yaml"])
    monitor = values["dcgmExporter"]["serviceMonitor"]
    assert monitor["enabled"] is True and monitor["honorLabels"] is True
    adapter = yaml.load(render_bundle(embedded_recipe(), embedded_store()).files["prometheus-adapter/values.yaml"])
    assert "pod" in str(adapter["rules"]) and "namespace" in str(adapter["rules"])  # what honorLabels serves


def test_adapter_prometheus_url_is_computed_from_the_plan() -> None:
    # Regression (issue 10): prometheus-adapter pointed at *.monitoring.svc whatever the plan said.
    recipe = embedded_recipe()
    bundle = render_bundle(recipe, embedded_store())
    url = yaml.load(bundle.files["prometheus-adapter/values.yaml"])["prometheus"]["url"]
    assert url == "http://prometheus-kube-prometheus-prometheus.monitoring.svc"
    moved = render_bundle(recipe, with_namespace(embedded_store(), "prometheus", "observability"))
    url = yaml.load(moved.files["prometheus-adapter/values.yaml"])["prometheus"]["url"]
    assert url == "http://prometheus-kube-prometheus-prometheus.observability.svc"
    step = next(s for s in plan_doc(moved.files)["steps"] if s["component"] == "prometheus")
    assert step["namespace"] == "observability"
    assert "kubectl get pods -n observability" in moved.files["README.md"].decode()
    # --set still wins: a Prometheus of the user's own.
    own = render_bundle(
        recipe,
        embedded_store(),
        BundleOptions(overrides=parse_set(["prometheus-adapter:prometheus.url=http://p.x.svc"])),
    )
    assert yaml.load(own.files["prometheus-adapter/values.yaml"])["prometheus"]["url"] == "http://p.x.svc"


def test_a_recipe_namespace_overrides_the_registry_everywhere() -> None:
    # The namespace plan: the recipe's componentRef namespace, else the registry's.
    recipe = embedded_recipe()
    refs = tuple(replace(r, namespace="observability") if r.name == "prometheus" else r for r in recipe.component_refs)
    moved = render_bundle(replace(recipe, component_refs=refs), embedded_store())
    url = yaml.load(moved.files["prometheus-adapter/values.yaml"])["prometheus"]["url"]
    assert url == "http://prometheus-kube-prometheus-prometheus.observability.svc"
    steps = {s["component"]: s["namespace"] for s in plan_doc(moved.files)["steps"]}
    assert steps["prometheus"] == "observability" and steps["gpu-operator"] == "gpu-operator"
    assert "upgrade --install prometheus" in moved.files["deploy.sh"].decode()
    assert "--namespace observability --create-namespace" in moved.files["deploy.sh"].decode()
    assert "namespace: observability" in moved.files["recipe.yaml"].decode()  # the recipe keeps saying so
    bad = tuple(replace(r, namespace="Not_A_Label") if r.name == "prometheus" else r for r in recipe.component_refs)
    with pytest.raises(InvalidRequestError, match="Not_A_Label"):
        render_bundle(replace(recipe, component_refs=bad), embedded_store())


def test_no_values_file_hard_codes_a_namespace() -> None:
    emb = embedded_store()
    for path, data in emb.files.items():
        if path.startswith("components/") and "/values" in path:
            assert b".svc" not in data and b"namespaceOverride:" not in data.replace(b"# namespaceOverride", b""), path


def test_disabling_at_bundle_time_removes_all_of_a_component() -> None:
    # Regression (issue 10): skyhook-operator.enabled=false still rendered the Skyhook resource
    # and gpu-operator.enabled=false still rendered its ConfigMaps.
    recipe = embedded_recipe()
    for options in (
        BundleOptions(disabled=("skyhook-operator", "gpuoperator")),
        BundleOptions(overrides=parse_set(["skyhook:enabled=false", "gpu-operator:enabled=false"])),
    ):
        bundle = render_bundle(recipe, embedded_store(), options)
        assert not [p for p in bundle.files if p.startswith(("skyhook-operator/", "gpu-operator/"))]
        text = b"".join(bundle.files[p] for p in ("install-plan.yaml", "deploy.sh", "undeploy.sh")).decode()
        assert "skyhook" not in text and "gpu-operator" not in text
        assert b"kind: Skyhook" not in b"".join(bundle.files.values())
        steps = plan_doc(bundle.files)["steps"]
        assert all("gpu-operator" not in s["dependsOn"] for s in steps)
        assert bundle.notes[:2] == (
            "gpu-operator is disabled: left out of the bundle",
            "skyhook-operator is disabled: left out of the bundle",
        )
        assert "Left out when the bundle was generated (disabled): gpu-operator, skyhook-operator." in (
            bundle.files["README.md"].decode()
        )


def test_disabling_prometheus_removes_the_adapter_value_that_points_at_it() -> None:
    bundle = render_bundle(embedded_recipe(), embedded_store(), BundleOptions(disabled=("prometheus",)))
    values = yaml.load(bundle.files["prometheus-adapter/values.yaml"])
    assert "url" not in values["prometheus"]
    assert any("prometheus.url left unset" in note for note in bundle.notes)
    assert "point at prometheus" not in bundle.files["deploy.sh"].decode()


def test_disabling_needs_a_known_component_and_leaves_something() -> None:
    recipe = embedded_recipe()
    with pytest.raises(InvalidRequestError, match="invalid --disable value 'ghost'"):
        render_bundle(recipe, embedded_store(), BundleOptions(disabled=("ghost",)))
    with pytest.raises(InvalidRequestError, match="enabled must be true or false"):
        render_bundle(recipe, embedded_store(), BundleOptions(overrides=parse_set(["skyhook:enabled=no"])))
    everything = tuple(r.name for r in recipe.component_refs)
    with pytest.raises(InvalidRequestError, match="nothing to bundle"):
        render_bundle(recipe, embedded_store(), BundleOptions(disabled=everything))
    kept = render_bundle(recipe, embedded_store(), BundleOptions(overrides=parse_set(["skyhook:enabled=true"])))
    assert "skyhook-operator/values.yaml" in kept.files
    assert "enabled" not in yaml.load(kept.files["skyhook-operator/values.yaml"])


def test_readme_states_only_what_this_bundle_has() -> None:
    # Regression (issue 10): the README troubleshot namespaces and components not in the recipe.
    recipe = embedded_recipe(Criteria(accelerator="h100", intent="inference"))
    bundle = render_bundle(recipe, embedded_store(), BundleOptions(bundler_version="v1.2.3"))
    readme = bundle.files["README.md"].decode()
    plan = plan_doc(bundle.files)
    namespaces = {s["namespace"] for s in plan["steps"]}
    mentioned = set(re.findall(r"kubectl get (?:pods|events) -n ([a-z0-9-]+)", readme))
    assert mentioned == namespaces
    assert set(re.findall(r"helm status ([a-z0-9-]+) -n", readme)) == {s["component"] for s in plan["steps"]}
    assert "nvidia-network-operator" not in readme and "network-operator" not in [s["component"] for s in plan["steps"]]
    for section in ("## Components", "## Install", "## Customization", "## Uninstall", "## Troubleshooting"):
        assert f"\n{section}\n" in readme
    assert readme.startswith("# Cloud Native Stack Deployment\n\nRecipe Version: v1.0.0\nBundler Version: v1.2.3\n")
    assert "./deploy.sh --dry-run" in readme and "helm install" not in readme
    bare = helm.render_readme(
        replace(recipe, criteria=None, constraints=()), build_plan(recipe, embedded_store()), "v1"
    )
    assert "Target Environment" not in bare and "## Constraints" not in bare


def test_components_missing_from_deployment_order_still_count() -> None:
    recipe = embedded_recipe()
    partial = replace(recipe, deployment_order=("prometheus", "ghost", "cert-manager", "prometheus"))
    names = [r.name for r in ordered_refs(partial)]
    assert names[:2] == ["prometheus", "cert-manager"]
    assert sorted(names) == sorted(r.name for r in recipe.component_refs)


def test_kustomize_components_are_steps_applied_with_kubectl() -> None:
    recipe = embedded_recipe()
    extra = ComponentRef(name="teleport", type="Kustomize", source="https://git.example/t", tag="v1", path="deploy")
    recipe = replace(recipe, component_refs=(*recipe.component_refs, extra))
    bundle = render_bundle(recipe, embedded_store())
    step = plan_doc(bundle.files)["steps"][-1]
    assert step == {
        "component": "teleport",
        "namespace": "teleport",
        "enabled": True,
        "kustomize": {"source": "https://git.example/t", "path": "deploy", "tag": "v1"},
        "manifests": [],
        "dependsOn": [],
    }
    assert "kubectl apply -n teleport -k 'https://git.example/t//deploy?ref=v1'" in bundle.files["deploy.sh"].decode()
    assert "teleport/values.yaml" not in bundle.files
    assert bundle.notes == ()


def test_names_that_cannot_be_a_release_or_namespace_are_refused() -> None:
    for bad in ("Upper", "a_b"):
        with pytest.raises(InvalidRequestError, match="Helm release name|DNS-1123"):
            render_bundle(Recipe(component_refs=(ComponentRef(name=bad, version="1"),)), embedded_store())
    # A dotted name is a release name; with a namespace of its own it still may not shadow a file.
    emb = embedded_store()
    comps = {
        **emb.registry.components,
        "readme.md": RegistryComponent(name="readme.md", display_name="x", namespace="x"),
    }
    with pytest.raises(InvalidRequestError, match="clashes with the bundle file"):
        render_bundle(
            Recipe(component_refs=(ComponentRef(name="readme.md"),)),
            replace(emb, registry=Registry(components=comps)),
        )


def test_odd_scalars_are_quoted_not_injected() -> None:
    recipe = embedded_recipe()
    refs = tuple(
        replace(r, version="1.0\nevil: true") if r.name == "cert-manager" else r for r in recipe.component_refs
    )
    bundle = render_bundle(replace(recipe, component_refs=refs), embedded_store())
    step = next(s for s in plan_doc(bundle.files)["steps"] if s["component"] == "cert-manager")
    assert step["chart"]["version"] == "1.0\nevil: true"
    assert "--version '1.0\nevil: true'" in bundle.files["deploy.sh"].decode()


def test_manifest_problems() -> None:
    emb = embedded_store()
    recipe = embedded_recipe()
    missing = tuple(
        replace(r, manifest_files=("components/x/nope.yaml",)) if r.name == "nvsentinel" else r
        for r in recipe.component_refs
    )
    with pytest.raises(NotFoundError, match="manifest components/x/nope.yaml of component nvsentinel"):
        render_bundle(replace(recipe, component_refs=missing), emb)
    files = {**emb.files, "components/other/kernel-module-params.yaml": b"x: 1"}
    clash = tuple(
        replace(r, manifest_files=(*r.manifest_files, "components/other/kernel-module-params.yaml"))
        if r.name == "gpu-operator"
        else r
        for r in recipe.component_refs
    )
    with pytest.raises(InvalidRequestError, match="two manifests named kernel-module-params.yaml"):
        render_bundle(replace(recipe, component_refs=clash), replace(emb, files=files))
    # The same manifest named by two components: each gets its own copy, in its own namespace.
    twice = tuple(
        replace(r, manifest_files=("components/gpu-operator/manifests/kernel-module-params.yaml",))
        if r.name == "nvsentinel"
        else r
        for r in recipe.component_refs
    )
    bundle = render_bundle(replace(recipe, component_refs=twice), emb)
    assert b"namespace: nvsentinel" in bundle.files["nvsentinel/manifests/kernel-module-params.yaml"]
    assert b"namespace: gpu-operator" in bundle.files["gpu-operator/manifests/kernel-module-params.yaml"]


def test_a_manifest_whose_condition_is_false_is_left_out() -> None:
    recipe = embedded_recipe(Criteria(accelerator="h100", intent="inference"))
    bundle = render_bundle(recipe, embedded_store())
    assert "skyhook-operator/manifests/ubuntu-tuning.yaml" not in bundle.files  # not an Ubuntu recipe
    off = render_bundle(
        embedded_recipe(),
        embedded_store(),
        BundleOptions(overrides=parse_set(["gpuoperator:dcgmExporter.config.create=false"])),
    )
    assert "gpu-operator/manifests/dcgm-metrics.yaml" not in off.files
    assert "gpu-operator/manifests/dcgm-metrics.yaml" not in off.files["deploy.sh"].decode()


def test_empty_recipe_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="at least one component reference"):
        render_bundle(Recipe(), embedded_store())


def test_set_key_must_name_a_recipe_component() -> None:
    recipe = embedded_recipe(Criteria(service="eks"))  # no network-operator
    with pytest.raises(InvalidRequestError, match="no component 'networkoperator'"):
        render_bundle(recipe, embedded_store(), BundleOptions(overrides=parse_set(["networkoperator:a=1"])))


# -- checksums, summary, determinism -------------------------------------------------------------


def test_deployer_parsing() -> None:
    assert parse_deployer(" HELM ") == "helm"
    assert parse_deployer("") == "helm"
    assert parse_deployer(None) == "helm"
    with pytest.raises(
        InvalidRequestError, match=r"invalid deployer type \'kustomize\': must be one of \[argocd helm\]"
    ):
        parse_deployer("kustomize")


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
        "\nHelm bundle generated successfully!\n"
        "Output directory: ./out\n"
        f"Files generated: {len(bundle.files)}\n"
        "\nTo deploy:\n"
        "  1. cd ./out\n"
        "  2. ./deploy.sh --dry-run   # review the commands\n"
        "  3. ./deploy.sh\n"
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
