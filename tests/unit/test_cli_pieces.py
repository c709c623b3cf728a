"""Pure pieces behind the CLI: agent manifests and flag parsers, layered data, table output, flags."""

from __future__ import annotations

import argparse

import pytest

from eidos_cli.agent.manifests import AgentOptions, job_object, rbac_objects
from eidos_cli.nodeflags import parse_selectors, parse_tolerations
from eidos_cli.options import CommaList, add_bool, parse_bool
from eidos_core import yaml
from eidos_core.data.files import read_embedded
from eidos_core.data.layered import layer_files, merge_registries
from eidos_core.data.load import load_store
from eidos_core.errors import InvalidRequestError, RecipeDataError
from eidos_core.io.table import render_table


def test_agent_and_bundle_share_one_flag_syntax() -> None:
    # The agent Job's --node-selector/--toleration parse exactly like bundle's node flags.
    assert parse_selectors(["a=b", " c = d=e "], flag="--node-selector") == {"a": "b", "c": "d=e"}
    assert parse_tolerations([], flag="--toleration") == ()  # the agent Job adds its own default (every taint)
    assert parse_tolerations([":NoSchedule"], flag="--toleration") == ({"operator": "Exists", "effect": "NoSchedule"},)
    with pytest.raises(InvalidRequestError, match="invalid --toleration: 'k:Bogus': unknown effect 'Bogus'"):
        parse_tolerations(["k:Bogus"], flag="--toleration")


def test_rbac_is_least_privilege() -> None:
    objs = {o["kind"]: o for o in rbac_objects(AgentOptions(namespace="ns", service_account="sa", output="cm://ns/s"))}
    assert list(objs) == ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    verbs = {v for rule in objs["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list"}, "cluster-wide access is read-only"
    resources = {r for kind in ("Role", "ClusterRole") for rule in objs[kind]["rules"] for r in rule["resources"]}
    assert "secrets" not in resources and "*" not in resources
    assert objs["RoleBinding"]["subjects"] == [{"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}]
    # get/update reach only the snapshot ConfigMap; create cannot be limited by name
    assert objs["Role"]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "update"], "resourceNames": ["s"]},
    ]
    assert objs["ClusterRoleBinding"]["metadata"]["name"] == "eidos-node-reader-ns-sa"
    with pytest.raises(InvalidRequestError, match="only write in its own namespace 'ns', not 'other'"):
        rbac_objects(AgentOptions(namespace="ns", output="cm://other/s"))


def test_job_variants() -> None:
    restricted = job_object(AgentOptions(output="cm://gpu-operator/snap"))
    pod = restricted["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["--output", "cm://gpu-operator/snap", "--namespace", "gpu-operator"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    # one GPU through the device plugin, not every GPU of the node past it
    assert "NVIDIA_VISIBLE_DEVICES" not in env and env["NVIDIA_DRIVER_CAPABILITIES"] == "utility"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    every = job_object(AgentOptions(output="cm://gpu-operator/snap", all_gpus=True))["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in every["containers"][0]["env"]}
    assert (
        env["NVIDIA_VISIBLE_DEVICES"] == "all" and "nvidia.com/gpu" not in every["containers"][0]["resources"]["limits"]
    )
    assert pod["securityContext"]["runAsNonRoot"] is True and "hostPID" not in pod
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert restricted["spec"]["backoffLimit"] == 0
    host = job_object(AgentOptions(output="cm://gpu-operator/snap", host=True, image_pull_secrets=("regcred",)))
    pod = host["spec"]["template"]["spec"]
    assert "hostPID" not in pod and pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["securityContext"]["runAsNonRoot"] is True  # the host variant stays non-root
    assert pod["containers"][0]["args"][-2:] == ["--host-root", "/host"]
    host_paths = [v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v]
    assert host_paths == ["/etc/os-release"]
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


def test_registry_merge_keeps_numbers_as_written() -> None:
    embedded = read_embedded()["registry.yaml"]
    external = (
        b"components:\n  - {name: extra, displayName: 0x10,\n"
        b"     helm: {defaultRepository: 'https://y', defaultVersion: 1.10}}\n"
    )
    merged = yaml.load(merge_registries(embedded, external, origin="ext/registry.yaml"))
    extra = next(c for c in merged["components"] if c["name"] == "extra")
    assert extra["displayName"] == "0x10" and extra["helm"]["defaultVersion"] == "1.10"
