"""The flags of a snapshot run, declared once for ``python -m eidos_agent`` and ``eidos-cli snapshot``.

Both parsers add them from here, so the two programs take the same names, defaults, environment
variables and checks, and :func:`options_from_args` turns either namespace into the
:class:`~eidos_agent.snapshotter.SnapshotOptions` that :func:`~eidos_agent.snapshotter.run_snapshot`
runs. :func:`job_args` gives the ones to pass on to an agent Job (``eidos-cli snapshot
--deploy-agent``). Light on purpose: the CLI imports this at start-up, before any Kubernetes client.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from eidos_agent.collectors import NAMES
from eidos_agent.collectors.base import NODE_NAME_VARIABLES, node_name_from_env

if TYPE_CHECKING:  # importing it for real would load the I/O modules at the CLI's start-up
    from eidos_agent.snapshotter import SnapshotOptions

DEFAULT_COLLECTOR_TIMEOUT = 120.0
DEFAULT_GPU_TIMEOUT = 10.0
# The Job runs once (backoffLimit: 0), so an API hiccup must not lose the snapshot; but the CLI that
# deployed it waits 5 minutes: collectors (120 s) plus one deadline for the write stay within that.
DEFAULT_API_DEADLINE = 90.0
API_DEADLINE_ENV = "EIDOS_API_DEADLINE"
HOST_ROOT_ENV = "EIDOS_HOST_ROOT"


def seconds(value: str) -> float:
    """A number of seconds >= 0 (``0`` allowed: no retries)."""
    try:
        parsed = float(value)
    except ValueError:
        parsed = -1.0
    if not 0 <= parsed < math.inf:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return parsed


def positive_seconds(value: str) -> float:
    """A number of seconds > 0: a time limit of 0 would fail every collector at once."""
    parsed = seconds(value)
    if parsed == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds > 0")
    return parsed


def collector_list(value: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown collector {unknown[0] if unknown else ''!r} (choose from {', '.join(NAMES)})"
        )
    return tuple(dict.fromkeys(names))  # each once, in the order given


def add_node_flags(parser: argparse._ActionsContainer, *, env: Mapping[str, str] | None = None, note: str = "") -> None:
    """``--node-name`` and ``--host-root``: which node the snapshot describes and where its files are."""
    env = os.environ if env is None else env
    parser.add_argument(
        "--node-name", metavar="NAME", default=node_name_from_env(env),
        help=f"the node to describe (default: env {', else '.join(NODE_NAME_VARIABLES)}; the agent Job sets "
        f"NODE_NAME from the downward API){note}",
    )  # fmt: skip
    parser.add_argument(
        "--host-root", metavar="DIR", default=env.get(HOST_ROOT_ENV, ""),
        help="where the node's files are, at their node paths: e.g. /host, where the agent's host variant mounts "
        "only the node's /etc/os-release. The OS collector reads os-release there, and /proc too when it has one; "
        f"by default (env {HOST_ROOT_ENV}, else none) this machine's or this container's own{note}",
    )  # fmt: skip


def add_collection_flags(parser: argparse._ActionsContainer, *, env: Mapping[str, str] | None = None) -> None:
    """Which collectors run and every time limit of the run."""
    env = os.environ if env is None else env
    parser.add_argument(
        "--collectors", type=collector_list, default=NAMES, metavar="NAMES",
        help=f"comma-separated subset of {','.join(NAMES)} (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--collector-timeout", type=positive_seconds, default=DEFAULT_COLLECTOR_TIMEOUT, metavar="SECONDS",
        help="seconds each collector may take before it is recorded as skipped "
        f"(default {DEFAULT_COLLECTOR_TIMEOUT:g})",
    )  # fmt: skip
    parser.add_argument(
        "--gpu-timeout", type=positive_seconds, default=DEFAULT_GPU_TIMEOUT, metavar="SECONDS",
        help=f"seconds nvidia-smi may take (default {DEFAULT_GPU_TIMEOUT:g})",
    )  # fmt: skip
    parser.add_argument(
        "--api-deadline", type=seconds, default=env.get(API_DEADLINE_ENV) or str(DEFAULT_API_DEADLINE),
        metavar="SECONDS",
        help="seconds to keep retrying transient Kubernetes API failures (429, 5xx, dropped connections, "
        "timeouts), for the K8s collector and again for a cm:// write (env "
        f"{API_DEADLINE_ENV}; default {DEFAULT_API_DEADLINE:g}; 0: no retries)",
    )  # fmt: skip


def options_from_args(args: argparse.Namespace, *, output: str, kubeconfig: str | None) -> SnapshotOptions:
    """The run the parsed flags ask for (``args`` from a parser given both flag groups above)."""
    from eidos_agent.snapshotter import SnapshotOptions

    return SnapshotOptions(
        output=output,
        fmt=args.format,
        collectors=tuple(args.collectors),
        node_name=args.node_name,
        host_root=args.host_root,
        kubeconfig=kubeconfig,
        collector_timeout=args.collector_timeout,
        gpu_timeout=args.gpu_timeout,
        api_deadline=args.api_deadline,
    )


def job_args(args: argparse.Namespace) -> list[str]:
    """The collection flags to pass on to an agent Job: those that differ from the defaults (so
    the default Job keeps the args of ``k8s/agent``). Node flags are not passed: the Job describes
    the node it runs on, and its host root comes from the host variant."""
    out: list[str] = []
    if tuple(args.collectors) != NAMES:
        out += ["--collectors", ",".join(args.collectors)]
    for flag, value, default in (
        ("--collector-timeout", args.collector_timeout, DEFAULT_COLLECTOR_TIMEOUT),
        ("--gpu-timeout", args.gpu_timeout, DEFAULT_GPU_TIMEOUT),
        ("--api-deadline", args.api_deadline, DEFAULT_API_DEADLINE),
    ):
        if value != default:
            out += [flag, repr(value)]
    return out
