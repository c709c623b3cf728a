"""The snapshot run's flags (``eidos_agent.flags``), shared by the agent and ``eidos-cli snapshot``."""

from __future__ import annotations

import argparse

import pytest

from eidos_agent.collectors import NAMES
from eidos_agent.flags import add_collection_flags, add_node_flags, job_args, options_from_args


def parser(env: dict[str, str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(exit_on_error=False)
    add_node_flags(p, env=env or {})
    add_collection_flags(p, env=env or {})
    p.add_argument("--format", default="yaml")
    return p


def test_defaults_come_from_the_environment() -> None:
    args = parser({"HOSTNAME": "h", "KUBERNETES_NODE_NAME": "k", "EIDOS_API_DEADLINE": "7", "EIDOS_HOST_ROOT": "/h"})
    ns = args.parse_args([])
    assert (ns.node_name, ns.host_root, ns.api_deadline, ns.collectors) == ("k", "/h", 7.0, NAMES)
    options = options_from_args(ns, output="-", kubeconfig=None)
    assert (options.collector_timeout, options.gpu_timeout, options.api_deadline) == (120.0, 10.0, 7.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--api-deadline", "nan"], "'nan' is not a number of seconds >= 0"),
        (["--api-deadline", "inf"], "'inf' is not a number of seconds >= 0"),
        (["--collector-timeout", "0"], "'0' is not a number of seconds > 0"),
        (["--gpu-timeout", "-1"], "'-1' is not a number of seconds >= 0"),
        (["--collectors", ","], "unknown collector ''"),
    ],
)
def test_bad_values_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(argparse.ArgumentError, match=message):
        parser().parse_args(argv)


def test_job_args_pass_on_only_what_differs_from_the_defaults() -> None:
    assert job_args(parser().parse_args([])) == []
    assert job_args(parser().parse_args(["--api-deadline", "90", "--collectors", "k8s,gpu,os,systemd"])) == []
    ns = parser().parse_args(["--collectors", "gpu,GPU, os", "--gpu-timeout", "2.5", "--node-name", "x"])
    assert job_args(ns) == ["--collectors", "gpu,os", "--gpu-timeout", "2.5"]
