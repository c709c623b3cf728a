"""Pure pieces behind the CLI: agent manifests and flag parsers, layered data, table output, flags."""

from __future__ import annotations

import argparse

import pytest

from eidos_cli.agent.manifests import (
    AgentOptions,
    job_object,
    parse_node_selectors,
    parse_tolerations,
    rbac_objects,
)
from eidos_cli.options import CommaList, add_bool, parse_bool
from eidos_core import yaml
from eidos_core.data.files import read_embedded
from eidos_core.data.layered import layer_files, merge_registries
from eidos_core.data.load import load_store
from eidos_core.errors import InvalidRequestError, RecipeDataError
from eidos_core.io.table import render_table


def test_node_selectors() -> None:
    assert parse_node_selectors(["a=b", " c = d=e "]) == {"a": "b", "c": "d=e"}
    assert parse_node_selectors([]) == {}
    with pytest.raises(InvalidRequestError, match="'x': expected key=value"):
        parse_node_selectors(["x"])


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], [{"operator": "Exists"}]),
        (["k=v:NoSchedule"], [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}]),
        (["k:NoExecute"], [{"key": "k", "operator": "Exists", "effect": "NoExecute"}]),
        (["k=:NoSchedule"], [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]),
    ],
)
def test_tolerations(items: list[str], expected: list[dict[str, str]]) -> None:
    assert parse_tolerations(items) == expected


@pytest.mark.parametrize("bad", ["invalid", "a:b:c", "k=v", ":NoSchedule"])
def test_bad_tolerations(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="expected key=value:effect or key:effect"):
        parse_tolerations([bad])


def test_rbac_is_least_privilege() -> None:
    objs = {o["kind"]: o for o in rbac_objects(AgentOptions(namespace="ns", service_account="sa"))}
    assert list(objs) == ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    verbs = {v for rule in objs["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list"}, "cluster-wide access is read-only"
    resources = {r for kind in ("Role", "ClusterRole") for rule in objs[kind]["rules"] for r in rule["resources"]}
    assert "secrets" not in resources and "*" not in resources
    assert objs["RoleBinding"]["subjects"] == [{"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}]


def test_job_variants() -> None:
    restricted = job_object(AgentOptions(output="cm://ns/snap"))
    pod = restricted["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["--output", "cm://ns/snap", "--namespace", "gpu-operator"]
    assert pod["securityContext"]["runAsNonRoot"] is True and "hostPID" not in pod
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert restricted["spec"]["backoffLimit"] == 0
    host = job_object(AgentOptions(output="cm://ns/snap", host=True, image_pull_secrets=("regcred",)))
    pod = host["spec"]["template"]["spec"]
    assert pod["hostPID"] is True and pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["containers"][0]["args"][-2:] == ["--host-root", "/host"]
    assert all(m.get("readOnly") for m in pod["containers"][0]["volumeMounts"] if m["name"] != "tmp")
    with pytest.raises(InvalidRequestError, match="writes to a ConfigMap"):
        job_object(AgentOptions(output="snap.yaml"))


def test_registry_merge_replaces_in_place_and_appends() -> None:
    embedded = read_embedded()["registry.yaml"]
    names = [c["name"] for c in yaml.load(embedded)["components"]]
    external = b"components:\n  - {name: cert-manager, displayName: cm, helm: {defaultRepository: 'https://x'}}\n" \
               b"  - {name: extra, displayName: extra, helm: {defaultRepository: 'https://y'}}\n"  # fmt: skip
    merged = yaml.load(merge_registries(embedded, external, origin="ext/registry.yaml"))
    assert [c["name"] for c in merged["components"]] == [*names, "extra"]
    cert = next(c for c in merged["components"] if c["name"] == "cert-manager")
    assert cert["displayName"] == "cm"
    assert merged["kind"] == "ComponentRegistry"
    with pytest.raises(RecipeDataError, match=r"components\[0\].name"):
        merge_registries(embedded, b"components: [{displayName: x}]\n", origin="ext/registry.yaml")


def test_layering_replaces_files_and_requires_a_registry() -> None:
    embedded = read_embedded()
    values = next(p for p in embedded if p.startswith("components/") and p.endswith("values.yaml"))
    layered = layer_files(embedded, {"registry.yaml": b"components: []\n", values: b"replaced: true\n"}, origin="ext")
    assert layered[values] == b"replaced: true\n"
    load_store(layered, source="test")  # still a valid data set
    with pytest.raises(RecipeDataError, match="external recipe data must include registry.yaml"):
        layer_files(embedded, {values: b"x: 1\n"}, origin="ext")


def test_table_rendering() -> None:
    doc = {"kind": "Snapshot", "b": [{"x": 1}, {"y": None}], "a": {"t": True, "e": {}, "l": []}}
    assert render_table(doc).splitlines() == [  # longest field (7) + 2 spaces
        "FIELD    VALUE",
        "-----    -----",
        "a.e      {}",
        "a.l      []",
        "a.t      true",
        "b.[0].x  1",
        "b.[1].y  <nil>",
        "kind     Snapshot",
    ]
    assert render_table({}) == "<empty>\n"


def test_flag_types() -> None:
    parser = argparse.ArgumentParser()
    add_bool(parser, "--cleanup", default=True, help="x")
    parser.add_argument("--set", action=CommaList, default=[])
    assert parser.parse_args([]).cleanup is True
    assert parser.parse_args(["--cleanup"]).cleanup is True
    assert parser.parse_args(["--cleanup=false"]).cleanup is False
    assert parser.parse_args(["--set", "a:x=1, b:y=2", "--set", "c:z=hello world"]).set == [
        "a:x=1", "b:y=2", "c:z=hello world",
    ]  # fmt: skip
    assert [parse_bool(v) for v in ("1", "t", "TRUE", "0", "F", "False")] == [True, True, True, False, False, False]
    with pytest.raises(argparse.ArgumentTypeError, match="invalid boolean 'yes'"):
        parse_bool("yes")
