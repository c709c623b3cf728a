"""The install plan's parts: the manifest template subset and the registry's namespace plan."""

from __future__ import annotations

from typing import Any

import pytest

from eidos_cli.bundle.manifests import TemplateError, has_objects, render_template
from eidos_cli.bundle.values import apply_references
from eidos_core.data.load import decode_registry
from eidos_core.yaml import load

CTX: dict[str, Any] = {
    "Values": {"gpu-operator": {"dcgmExporter": {"config": {"create": True}}}, "sky": {"customization": "ubuntu"}},
    "Release": {"Namespace": "gpu", "Name": "gpu-operator"},
}


def render(source: str) -> str:
    return render_template(source, CTX, "test")


def test_template_subset() -> None:
    assert render("plain: yaml\n") == "plain: yaml\n"
    assert render("ns: {{ .Release.Namespace }}\n") == "ns: gpu\n"
    source = (
        '{{- $cfg := index .Values "gpu-operator" "dcgmExporter" "config" | default dict }}\n'
        "{{- if $cfg.create }}\n"
        'name: {{ $cfg.name | default "dcgm-metrics" }}\n'
        "{{- end }}\n"
    )
    assert render(source) == "\nname: dcgm-metrics\n"
    assert (
        render('{{ if eq (index .Values "sky" "customization" | toString) "ubuntu" }}yes{{ else }}no{{ end }}') == "yes"
    )
    assert render('{{ if eq .Values.sky.customization "none" }}a{{ else if .Values.sky }}b{{ end }}') == "b"
    assert render("{{/* a comment */}}x{{ .Values.missing.key }}y") == "xy"  # missing is empty, as in Helm
    assert render('{{ "a" | quote }} {{ not false }} {{ and 1 0 }} {{ or 0 "z" }} {{ upper "q" }}') == '"a" true 0 z Q'


@pytest.mark.parametrize(
    "source",
    ["{{ range .Values }}x{{ end }}", '{{ include "x" . }}', "{{ if true }}open", "{{ end }}", "{{ toYaml .Values }}"],
)
def test_unsupported_templates_are_errors(source: str) -> None:
    with pytest.raises(TemplateError, match="test"):
        render(source)


def test_has_objects() -> None:
    assert not has_objects("\n# only a comment\n---\n  \n")
    assert has_objects("# c\nkind: ConfigMap\n")


def test_apply_references_sets_and_removes() -> None:
    values: dict[str, Any] = {"prometheus": {"url": "old", "port": 9090}, "x": 1}
    apply_references(values, {"prometheus.url": None, "a.b": "v"})
    assert values == {"prometheus": {"port": 9090}, "x": 1, "a": {"b": "v"}}
    apply_references(values, {"missing.path": None})  # nothing there: nothing to remove


def registry(extra: str) -> str:
    return (
        "apiVersion: eidos.nvidia.com/v1alpha1\nkind: ComponentRegistry\ncomponents:\n"
        f"  - name: gpu-operator\n    helm: {{defaultChart: nvidia/gpu-operator}}\n{extra}"
    )


def test_registry_namespace_defaults_to_the_name_and_must_be_a_label() -> None:
    comps, problems = decode_registry(load(registry(""), raw=True), "registry.yaml")
    assert comps["gpu-operator"].namespace == "gpu-operator" and not problems
    comps, problems = decode_registry(load(registry("    namespace: GPU_ns\n"), raw=True), "registry.yaml")
    assert [p.field for p in problems] == ["components[0].namespace"]
    assert "DNS-1123" in problems[0].message
    text = registry("  - name: Odd_Name\n")
    _, problems = decode_registry(load(text, raw=True), "registry.yaml")
    assert [p.field for p in problems] == ["components[1].namespace"]
    assert "is required" in problems[0].message


def test_registry_value_references() -> None:
    text = registry(
        "    valueReferences:\n"
        '      - {path: a.url, component: prometheus, value: "http://{release}.{namespace}.svc"}\n'
        '      - {path: "a..b", value: "{nope}"}\n'
    )
    comps, problems = decode_registry(load(text, raw=True), "registry.yaml")
    assert comps["gpu-operator"].value_references[0].component == "prometheus"
    assert sorted(p.field for p in problems) == [
        "components[0].valueReferences[1].path",
        "components[0].valueReferences[1].value",
    ]
