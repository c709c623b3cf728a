"""--set parsing, typing and applying; node selectors and tolerations."""

from __future__ import annotations

import argparse
import math
from typing import Any

import pytest

from eidos_cli.bundle.overrides import (
    apply_overrides,
    check_keys,
    convert,
    for_component,
    parse_set,
    selector_keys,
    set_path,
)
from eidos_cli.bundle.scheduling import (
    GPU_TAINT_TOLERATIONS,
    apply_scheduling,
    scheduling_from_flags,
)
from eidos_cli.nodeflags import parse_selectors, parse_toleration, parse_tolerations
from eidos_cli.options import add_list
from eidos_core.errors import InvalidRequestError
from eidos_core.sources.embedded import embedded_store


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", "True"),
        ("42", 42),
        ("-100", -100),
        ("007", 7),
        ("+5", 5),
        ("3.14", 3.14),
        ("1e3", 1000.0),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("v1.2.3", "v1.2.3"),
        ("570.86.16", "570.86.16"),
        ("1_000", "1_000"),
        ("0x10", "0x10"),
        ("hello world", "hello world"),
        ("9223372036854775807", 9223372036854775807),
        ("9223372036854775808", 9223372036854775808.0),
    ],
)
def test_convert(raw: str, expected: Any) -> None:
    value = convert(raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("raw", ["inf", "-Infinity", "NaN"])
def test_convert_special_floats(raw: str) -> None:
    value = convert(raw)
    assert isinstance(value, float)
    assert math.isinf(value) or math.isnan(value)


def test_parse_set() -> None:
    parsed = parse_set(["gpuoperator:image.tag=v25.3.0=beta", "a:x=1", "a:msg=hello: world"])
    assert [(o.key, o.path, o.value) for o in parsed] == [
        ("gpuoperator", "image.tag", "v25.3.0=beta"),
        ("a", "x", 1),
        ("a", "msg", "hello: world"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("noColon=1", "expected 'component:path=value'"),
        ("a:noEquals", "expected 'component:path=value'"),
        ("a:=1", "path and value cannot be empty"),
        ("a:x=", "path and value cannot be empty"),
        (":x=1", "component before ':' is empty"),
        ("a:x..y=1", "empty segment"),
    ],
)
def test_parse_set_errors(entry: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as err:
        parse_set([entry])
    assert err.value.message.startswith("invalid --set flag:")
    assert entry in err.value.message


def test_set_flag_splits_commas() -> None:
    parser = argparse.ArgumentParser()
    add_list(parser, "--set", metavar="X", help="x")
    args = parser.parse_args(["--set", "a:x=1, b:y=2", "--set", "gpuoperator:list=a,b"])
    assert args.set == ["a:x=1", "b:y=2", "gpuoperator:list=a", "b"]
    # The piece after the comma is not an entry of its own: the reference fails the same way.
    with pytest.raises(InvalidRequestError, match="'b'"):
        parse_set(args.set)


def test_keys_select_by_name_or_registry_key() -> None:
    registry = embedded_store().registry
    assert selector_keys("gpu-operator", registry) == ("gpuoperator", "gpu-operator")
    assert selector_keys("not-in-registry", registry) == ("not-in-registry",)
    overrides = parse_set(["gpu-operator:a=1", "gpuoperator:a=2", "gpuoperator:b=3", "certmanager:c=4"])
    chosen = for_component(overrides, "gpu-operator", registry)
    # Override keys first, the exact name last, so the exact name wins on the same path.
    assert [(o.path, o.value) for o in chosen] == [("a", 2), ("b", 3), ("a", 1)]
    values: dict[str, Any] = {}
    apply_overrides(values, chosen, "gpu-operator")
    assert values == {"a": 1, "b": 3}


def test_unknown_component_names_the_allowed_ones() -> None:
    registry = embedded_store().registry
    check_keys(parse_set(["gpuoperator:a=1", "cert-manager:b=2"]), ["gpu-operator", "cert-manager"], registry)
    with pytest.raises(InvalidRequestError) as err:
        check_keys(parse_set(["networkoperator:a=1"]), ["gpu-operator", "cert-manager"], registry)
    assert "no component 'networkoperator'" in err.value.message
    assert "(allowed: cert-manager, certmanager, gpu-operator, gpuoperator)" in err.value.message


def test_set_path_creates_maps_and_refuses_non_maps() -> None:
    values: dict[str, Any] = {"driver": {"version": "1"}, "env": [1]}
    set_path(values, "driver.rdma.enabled", True)
    set_path(values, "driver.version", "2")
    assert values["driver"] == {"version": "2", "rdma": {"enabled": True}}
    with pytest.raises(InvalidRequestError, match=r"driver\.version is the str '2', not a mapping"):
        set_path(values, "driver.version.major", 3)
    with pytest.raises(InvalidRequestError, match="env is a list"):
        set_path(values, "env.x", 1)
    with pytest.raises(InvalidRequestError, match="'gpuoperator:env.x=1' for component gpu-operator"):
        apply_overrides(values, parse_set(["gpuoperator:env.x=1"]), "gpu-operator")


def test_selectors() -> None:
    assert parse_selectors(["a=1", "b=x=y", "a=2", "c="], flag="--f") == {"a": "2", "b": "x=y", "c": ""}
    with pytest.raises(InvalidRequestError, match=r"invalid --f: invalid format 'nokey', expected key=value"):
        parse_selectors(["nokey"], flag="--f")
    with pytest.raises(InvalidRequestError, match="empty key"):
        parse_selectors(["=v"], flag="--f")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "nvidia.com/gpu=present:NoSchedule",
            {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
        ),
        ("dedicated:NoExecute", {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}),
        ("dedicated=:NoSchedule", {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}),
        ("dedicated:", {"key": "dedicated", "operator": "Exists"}),
        (":", {"operator": "Exists"}),
    ],
)  # fmt: skip
def test_toleration(entry: str, expected: dict[str, str]) -> None:
    assert parse_toleration(entry, flag="--t") == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [("a=b", "expected key=value:effect"), ("a:b:c", "expected"), ("a:Sometimes", "unknown effect")],
)
def test_toleration_errors(entry: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_toleration(entry, flag="--t")


def test_tolerations_parse_in_order_and_colon_alone_tolerates_every_taint() -> None:
    assert parse_tolerations([], flag="--t") == ()
    assert parse_tolerations(["a:NoSchedule", ":"], flag="--t") == (
        {"key": "a", "operator": "Exists", "effect": "NoSchedule"},
        {"operator": "Exists"},
    )


def test_flags_are_parsed_selectors_first() -> None:
    # A bad accelerated selector is reported before a bad system toleration (reference order).
    with pytest.raises(InvalidRequestError, match="--accelerated-node-selector"):
        scheduling_from_flags(system_tolerations=["bad"], accelerated_selectors=["bad"])


def test_scheduling_goes_to_the_registry_paths() -> None:
    registry = embedded_store().registry
    scheduling = scheduling_from_flags(
        system_selectors=["nodeGroup=system"],
        accelerated_selectors=["nodeGroup=gpu"],
        accelerated_tolerations=["nvidia.com/gpu=present:NoSchedule"],
    )
    values: dict[str, Any] = {"operator": {"nodeSelector": {"old": "x"}, "image": "op"}, "daemonsets": "not-a-map"}
    apply_scheduling(values, registry.get("gpu-operator"), scheduling)
    gpu = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
    # No system toleration flag: the chart's own tolerations stay (nothing written).
    assert values["operator"] == {"nodeSelector": {"nodeGroup": "system"}, "image": "op"}
    # A non-map on the way is replaced, unlike --set.
    assert values["daemonsets"] == {"nodeSelector": {"nodeGroup": "gpu"}, "tolerations": [gpu]}
    nfd = values["node-feature-discovery"]
    assert nfd["worker"] == {"nodeSelector": {"nodeGroup": "gpu"}, "tolerations": [gpu]}
    assert nfd["gc"] == nfd["master"] == {"nodeSelector": {"nodeGroup": "system"}}


def test_no_flags_system_keeps_chart_tolerations_and_accelerated_tolerates_only_the_gpu_taint() -> None:
    # Issue 11: every component used to tolerate every taint ([{operator: Exists}]), so system
    # pods landed on GPU nodes and were never evicted from an unreachable node.
    registry = embedded_store().registry
    values: dict[str, Any] = {}
    apply_scheduling(values, registry.get("cert-manager"), scheduling_from_flags())
    assert values == {}
    gpu_values: dict[str, Any] = {}
    apply_scheduling(gpu_values, registry.get("gpu-operator"), scheduling_from_flags())
    expected = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert [dict(t) for t in GPU_TAINT_TOLERATIONS] == expected
    assert gpu_values == {
        "daemonsets": {"tolerations": expected},
        "node-feature-discovery": {"worker": {"tolerations": expected}},
    }
    # ":" restores "every taint" for whoever wants it, per group.
    everything: dict[str, Any] = {}
    apply_scheduling(everything, registry.get("cert-manager"), scheduling_from_flags(system_tolerations=[":"]))
    assert everything["webhook"] == {"tolerations": [{"operator": "Exists"}]}


def test_no_selector_flag_means_no_selector() -> None:
    values: dict[str, Any] = {}
    apply_scheduling(values, embedded_store().registry.get("cert-manager"), scheduling_from_flags())
    assert values == {}
    untouched: dict[str, Any] = {"a": 1}
    apply_scheduling(untouched, None, scheduling_from_flags(system_selectors=["a=b"]))
    assert untouched == {"a": 1}
